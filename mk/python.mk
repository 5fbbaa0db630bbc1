# The Python module (python/: pyo3 + maturin, package `haoyuan` over `haoyuan._native`).
#
#   make test-python    build the module (release) into python/.venv, run its pytest suite
#                       (engine API, bulk calls, threads, fork, hypothesis invariants, the
#                       hardening regressions of issue 12, the README example) and check the
#                       stub with mypy.stubtest (part of `make test`)
#   make bench-python   per-call overhead of one booking from Python vs Rust, and of a bulk call
#
# Works on a fresh machine: the venv is created with python3 -m venv and filled from
# python/requirements-dev.txt (pinned). The build uses the workspace's default target/ (or
# $CARGO_TARGET_DIR if the caller set one).

PY_VENV := python/.venv
PY_BIN := $(abspath $(PY_VENV))/bin
PY_STAMP := $(PY_VENV)/.requirements-dev.stamp
PY_TESTS := tests/test_engine.py tests/test_bulk.py tests/test_invariants.py tests/test_fhir_api.py tests/test_hardening.py tests/test_pii.py tests/test_error_table.py tests/test_faces.py README.md

.PHONY: test-python python-build bench-python
TEST_TARGETS += test-python

$(PY_STAMP): python/requirements-dev.txt
	@test -x $(PY_BIN)/python || python3 -m venv $(PY_VENV)
	$(PY_BIN)/python -m pip install -q --disable-pip-version-check -r python/requirements-dev.txt
	@touch $@

python-build: $(PY_STAMP)
	cd python && VIRTUAL_ENV=$(abspath $(PY_VENV)) PATH="$(PY_BIN):$$PATH" $(PY_BIN)/maturin develop --release -q

test-python: python-build
	cd python && $(PY_BIN)/python -m pytest -q -p no:cacheprovider $(PY_TESTS)
	cd python && MYPY_CACHE_DIR=$(abspath $(or $(CARGO_TARGET_DIR),target))/mypy-cache $(PY_BIN)/python -m mypy.stubtest haoyuan._native

bench-python: python-build
	cd python && $(PY_BIN)/python benchmarks/overhead.py
