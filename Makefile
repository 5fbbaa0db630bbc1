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

.PHONY: demo test test-serial test-rust workload bench clean

demo:
	$(CARGO) run --release -p haoyuan-sim --example dongguan

# Two targets at a time (this machine has 2 cores): much of `make test` is one thread — valgrind,
# callgrind, pytest, the JVM and Mono, the workload runner — and the other core compiles the next
# target meanwhile (cargo's lock on the target dir orders the builds). Each target's output is
# printed whole when it ends (--output-sync), so logs do not interleave. Targets that share a
# file say so in their prerequisites. `make test-serial` runs them one after the other.
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(TEST_TARGETS)
	@echo "make test: all passed ($(TEST_TARGETS))"

test-serial: $(TEST_TARGETS)
	@echo "make test-serial: all passed ($(TEST_TARGETS))"

# The Rust crates' tests (the C ABI crate's too: its unit tests and the header's freshness),
# and the seeded workload runner (tests/workload/seeds.rs: its runs, and every seed of
# tests/workload/seeds.txt) and conformance runner built by the same cargo call, so with the
# same features. Cargo resolves features per call: a `cargo run` of a runner, or a separate
# `cargo test -p haoyuan-ffi` (cbindgen's dev-dependency turns on syn's "full", and serde's
# derive with it), compiled the engine once more each. The debug C library is this call's too
# (FFI_DEBUG_BUILD, mk/ffi.mk), and so is the instruction gate's example (ci/instructions.sh,
# haoyuan-benches).
RUST_TEST_PACKAGES := -p haoyuan -p haoyuan-sim -p haoyuan-fhir -p haoyuan-tests -p haoyuan-ffi -p haoyuan-benches

test-rust:
	$(CARGO) test $(RUST_TEST_PACKAGES)

# Reproduce a workload run exactly: make workload SEED=1234
workload:
	$(CARGO) run --release -p haoyuan-tests --bin workload -- --seed $(or $(SEED),1) --steps $(or $(STEPS),100000)

bench:
	$(CARGO) bench

clean:
	$(CARGO) clean
