# The Python module (python/: pyo3 + maturin, package `haoyuan` over `haoyuan._native`). The
# hand-written package is python/python/haoyuan, the Rust is python/src: nothing named haoyuan
# sits at the top of python/, so the tests, run from python/, import the installed package.
#
#   make python-wheel          build the one wheel, cp39-abi3 (every CPython >= 3.9), into
#                              $(PY_WHEEL_DIR) and check it with abi3audit
#   make test-python           install that wheel into python/.venv and run the pytest suite on
#                              the installed package (engine API, bulk calls, threads, fork,
#                              hypothesis invariants, the hardening regressions of issue 12, the
#                              durable engine, pipelines and a SIGKILL loop of issue 16, the
#                              README example), and mypy.stubtest (part of `make test`)
#   make test-python-install   what a user does: `pip install ./python` (from source, PEP 517
#                              through maturin) into a fresh venv with the extras, then the suite on
#                              that install (part of `make test`)
#   make test-latest           a fresh venv with the newest release of every Python dependency
#                              (unpinned), the wheel, the whole suite; NOT part of `make test`, so
#                              an upstream release cannot turn CI red
#   make test-python-sdist     the sdist (maturin sdist) holds everything a build needs: pip builds
#                              it, unpacked in a temp dir, with its own target dir (a cold Rust build,
#                              minutes), into a fresh venv, and the suite runs on that install (NOT
#                              part of `make test`)
#   make bench-python          per-call overhead of one booking from Python vs Rust, and of a bulk call
#
# Works on a fresh machine: python/.venv is created with python3 -m venv and filled from
# python/requirements-dev.txt (pinned). One Rust build serves every target: the wheel and the
# from-source install both build with maturin into $(CARGO_TARGET_DIR) (default target/) with
# the same profile and features — and the same interpreter path, $(PY_BUILD_PY), because cargo
# rebuilds pyo3 and the module whenever PYO3_PYTHON changes. That interpreter is the venv of
# test-python-install (recreated at the same path each run).

PY_VENV := python/.venv
PY_BIN := $(abspath $(PY_VENV))/bin
PY_STAMP := $(PY_VENV)/.requirements-dev.stamp
PY_TESTS := tests/test_engine.py tests/test_board.py tests/test_recommend.py tests/test_bulk.py tests/test_invariants.py tests/test_fhir_api.py tests/test_hardening.py tests/test_pii.py tests/test_error_table.py tests/test_faces.py tests/test_durable.py tests/test_standby.py README.md
PY_SIM_TESTS := tests/test_sim.py tests/test_sim_validation.py tests/test_sim_plots.py tests/test_sim_report.py tests/test_sim_sweep.py tests/test_sim_data.py
PY_TGT := $(abspath $(or $(CARGO_TARGET_DIR),target))
PY_WHEEL_DIR := $(PY_TGT)/python-wheel
PY_WHEEL := $(PY_WHEEL_DIR)/haoyuan-*-cp39-abi3-*.whl
PY_INSTALL_VENV := $(PY_TGT)/python-install
# The pinned requirements as wheel files (maturin for the build env included): the fresh venvs
# install offline from here instead of downloading numpy, pandas and pyarrow again each run.
PY_WHEELHOUSE := $(PY_TGT)/python-wheelhouse
PY_WHEELHOUSE_STAMP := $(PY_WHEELHOUSE)/.requirements-dev.stamp
PY_BUILD_PY := $(PY_INSTALL_VENV)/bin/python
PY_LATEST_VENV := $(PY_TGT)/python-latest
PY_SDIST_DIR := $(PY_TGT)/python-sdist
# Every Python package the package, its extras and its tests use, newest releases.
PY_LATEST_PKGS := numpy pandas pyarrow matplotlib tqdm simpy ray pytest hypothesis mypy
# The suite imports what pip installed, never python/python/haoyuan (tests/conftest.py checks).
PY_TEST_ENV := HAOYUAN_TEST_INSTALLED=1
PY_PIP := -m pip install -q --disable-pip-version-check

.PHONY: test-python python-wheel python-build test-python-install test-latest test-python-sdist bench-python
TEST_TARGETS += test-python test-python-install

# The simulator's extras (mk/sim.mk) too: `make test` runs targets side by side (Makefile), and
# sim-python-env installing them into this venv while test-python's pytest imports from it
# would be a race.
$(PY_STAMP): python/requirements-dev.txt
	@test -x $(PY_BIN)/python || python3 -m venv $(PY_VENV)
	$(PY_BIN)/python $(PY_PIP) -r python/requirements-dev.txt $(SIM_PIP_EXTRA)
	@touch $@

$(PY_WHEELHOUSE_STAMP): python/requirements-dev.txt $(PY_STAMP)
	$(PY_BIN)/python -m pip download -q --disable-pip-version-check -d $(PY_WHEELHOUSE) -r python/requirements-dev.txt
	@touch $@

python-wheel: $(PY_STAMP)
	@test -x $(PY_BUILD_PY) || python3 -m venv $(PY_INSTALL_VENV)
	@rm -rf $(PY_WHEEL_DIR)
	cd python && $(PY_BIN)/maturin build --release -q -i $(PY_BUILD_PY) -o $(PY_WHEEL_DIR)
	$(PY_BIN)/abi3audit --strict $(PY_WHEEL)
	@ls -l $(PY_WHEEL)

# The wheel in python/.venv (the dependencies are the pinned ones of requirements-dev.txt).
python-build: python-wheel
	$(PY_BIN)/python $(PY_PIP) --no-deps --force-reinstall $(PY_WHEEL)

test-python: python-build
	cd python && $(PY_TEST_ENV) $(PY_BIN)/python -m pytest -q -p no:cacheprovider $(PY_TESTS)
	cd python && MYPY_CACHE_DIR=$(PY_TGT)/mypy-cache $(PY_BIN)/python -m mypy.stubtest haoyuan._native

# pip builds ./python in place (no copy of the tree), through maturin in an isolated build env;
# everything else (maturin too) comes from the wheelhouse of the pinned requirements.
# After python-wheel: it builds with the interpreter of $(PY_INSTALL_VENV), which this target
# deletes and recreates (the two run side by side in `make test` otherwise).
test-python-install: $(PY_WHEELHOUSE_STAMP) python-wheel
	rm -rf $(PY_INSTALL_VENV)
	python3 -m venv $(PY_INSTALL_VENV)
	CARGO_TARGET_DIR=$(PY_TGT) $(PY_BUILD_PY) $(PY_PIP) --no-index --find-links $(PY_WHEELHOUSE) "./python[pandas,arrow]" pytest hypothesis
	cd python && $(PY_TEST_ENV) $(PY_BUILD_PY) -m pytest -q -p no:cacheprovider $(PY_TESTS)

test-latest: python-wheel
	bash ci/lib/apt-install.sh chromium
	rm -rf $(PY_LATEST_VENV)
	python3 -m venv $(PY_LATEST_VENV)
	$(PY_LATEST_VENV)/bin/python $(PY_PIP) -U pip
	$(PY_LATEST_VENV)/bin/python $(PY_PIP) -U $(PY_LATEST_PKGS)
	w=$$(echo $(PY_WHEEL)) && $(PY_LATEST_VENV)/bin/python $(PY_PIP) "$$w[pandas,arrow,sim,plots]"
	@$(PY_LATEST_VENV)/bin/python -m pip list --disable-pip-version-check | grep -iwE "$$(echo $(PY_LATEST_PKGS) | tr ' ' '|')"
	cd python && $(PY_TEST_ENV) $(PY_LATEST_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PY_TESTS) $(PY_SIM_TESTS)
	cd python && MYPY_CACHE_DIR=$(PY_TGT)/mypy-cache-latest $(PY_LATEST_VENV)/bin/python -m mypy.stubtest haoyuan._native

# Outside the workspace: the sdist's own Cargo.toml (maturin rewrites it) and Cargo.lock.
test-python-sdist: $(PY_WHEELHOUSE_STAMP)
	rm -rf $(PY_SDIST_DIR) && mkdir -p $(PY_SDIST_DIR)/src
	$(PY_BIN)/maturin sdist -m python/Cargo.toml -o $(PY_SDIST_DIR)
	tar xzf $(PY_SDIST_DIR)/haoyuan-*.tar.gz -C $(PY_SDIST_DIR)/src
	python3 -m venv $(PY_SDIST_DIR)/venv
	cd $(PY_SDIST_DIR)/src/haoyuan-* && CARGO_TARGET_DIR=$(PY_SDIST_DIR)/target $(PY_SDIST_DIR)/venv/bin/python $(PY_PIP) --no-index --find-links $(PY_WHEELHOUSE) ".[pandas,arrow]" pytest hypothesis
	cd python && $(PY_TEST_ENV) $(PY_SDIST_DIR)/venv/bin/python -m pytest -q -p no:cacheprovider $(PY_TESTS)

bench-python: python-build
	cd python && $(PY_BIN)/python benchmarks/overhead.py
