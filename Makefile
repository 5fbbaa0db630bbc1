# haoyuan — the two commands of the README, and the pieces they are made of.
#
#   make demo   a Dongguan-size city morning on the in-memory engine (Rust example)
#   make test   every test: Rust (unit, property, stress, workload), C ABI, Python, fuzz corpora
#
# Each face of the project adds its own targets in mk/*.mk and appends them to TEST_TARGETS,
# so that the pieces can grow independently.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

# loom-prebuild (mk/ci.mk) first: it starts the loom models' separate build in the background,
# at low priority, so that it uses the cores test-rust leaves idle (tests running one thread).
TEST_TARGETS := loom-prebuild test-rust

-include mk/*.mk

.PHONY: demo test test-rust workload bench clean

demo:
	$(CARGO) run --release -p haoyuan-sim --example dongguan

test: $(TEST_TARGETS)
	@echo "make test: all passed ($(TEST_TARGETS))"

test-rust:
	$(CARGO) test -p haoyuan -p haoyuan-sim -p haoyuan-fhir
	@# The workload runs in the test profile (optimised, see Cargo.toml) to reuse its build.
	$(CARGO) run -p haoyuan-tests --bin workload -- --seed 1 --steps 10000
	$(CARGO) run -p haoyuan-tests --bin workload -- --seed 2 --steps 200000 --threads 4
	CARGO=$(CARGO) tests/workload/run-seeds.sh

# Reproduce a workload run exactly: make workload SEED=1234
workload:
	$(CARGO) run --release -p haoyuan-tests --bin workload -- --seed $(or $(SEED),1) --steps $(or $(STEPS),100000)

bench:
	$(CARGO) bench

clean:
	$(CARGO) clean
