# The policy simulator (haoyuan-sim, haoyuan.sim, haoyuan.plots).
#
#   make test-sim    Rust simulator tests + the Python simulator tests with matplotlib, tqdm
#                    and SimPy present (part of `make test`)
#   make bench-sim   the Dongguan city-year, and SimPy vs haoyuan.sim on the same small model
#                    (not part of `make test`)
#   make sim-study   python/examples/policy_study.py: three policies on the Dongguan preset,
#                    plots in target/policy_study/
#
# The Rust tests (sim/tests/sim_run.rs) run in `test-rust` (cargo test --workspace);
# `make test-sim-rust` runs them alone. The Python side shares python/.venv with the Python
# face (mk/python.mk) and its wheel, adds the simulator's extras and runs the simulator's pytest
# files on the installed package.

SIM_VENV ?= python/.venv
SIM_PY := $(SIM_VENV)/bin/python
SIM_PIP_EXTRA := matplotlib==3.11.2 tqdm==4.70.1 simpy==4.1.2 ray==2.60.0
SIM_OUT := $(or $(CARGO_TARGET_DIR),target)/sim

.PHONY: test-sim test-sim-rust test-sim-python sim-python-env bench-sim sim-study
TEST_TARGETS += test-sim

test-sim: test-sim-python

test-sim-rust:
	$(CARGO) test -p haoyuan-sim --test sim_run

# A venv with the dev requirements, the simulator's extras and the wheel of python-build
# (mk/python.mk: one build of the module for every target).
sim-python-env: python-build
	@test -x $(SIM_PY) || python3 -m venv $(SIM_VENV)
	@$(SIM_PY) -c "import matplotlib, tqdm, simpy, ray, pandas, hypothesis, pytest" 2>/dev/null || \
	  $(SIM_PY) -m pip install -q -r python/requirements-dev.txt $(SIM_PIP_EXTRA)
ifneq ($(abspath $(SIM_VENV)),$(abspath $(PY_VENV)))
	$(SIM_PY) -m pip install -q --no-deps --force-reinstall $(PY_WHEEL)
endif

test-sim-python: sim-python-env
	bash ci/lib/apt-install.sh chromium
	cd python && $(PY_TEST_ENV) $(abspath $(SIM_PY)) -m pytest -q -p no:cacheprovider $(PY_SIM_TESTS)

bench-sim: sim-python-env
	@mkdir -p $(SIM_OUT)
	@echo "== Dongguan city-year (365 days, release build)"
	$(CARGO) test --release -p haoyuan-sim --test sim_bench -- --ignored --nocapture | tee $(SIM_OUT)/city_year.txt
	@echo "== Steady state on Dongguan: 20 replications of 7- and 28-day windows (minutes)"
	$(CARGO) test --release -p haoyuan-sim --test steady_state -- --ignored --nocapture 2>&1 | tee $(SIM_OUT)/steady_state.txt
	@echo "== SimPy vs haoyuan.sim, same small model"
	cd python && $(abspath $(SIM_PY)) benchmarks/simpy_vs_haoyuan.py --reps 5 --json $(abspath $(SIM_OUT))/simpy_vs_haoyuan.json
	cd python && $(abspath $(SIM_PY)) benchmarks/simpy_district.py --reps 5 --json $(abspath $(SIM_OUT))/simpy_district.json

sim-study: sim-python-env
	cd python && $(abspath $(SIM_PY)) examples/policy_study.py --out $(abspath $(SIM_OUT))/policy_study
