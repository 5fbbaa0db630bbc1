# The extra checks of ci/ (one commented script each), part of `make test`:
#   make ci-checks    clippy -D warnings, rustfmt --check, import cycles, shell pipes, loom models, instructions
#                     per operation (callgrind), the Java (JNA) and C# (Mono) examples, cargo package
#   make package-check  cargo package of the public crates, verified (compiled afresh)
CI_SCRIPTS := $(sort $(wildcard ci/*.sh))

.PHONY: ci-checks loom-prebuild
TEST_TARGETS += ci-checks

# The loom models build the engine with `--cfg loom` in a target dir of their own: ~3 minutes of
# compiling that shares nothing with the other builds. Started in the background when `make test`
# starts (the first of TEST_TARGETS), niced; ci/loom.sh, run later by ci-checks, then finds it
# built — or waits on cargo's lock of that target dir until it is, and reports any build error
# itself (the flags here are ci/loom.sh's, so its cargo call reuses this build).
LOOM_TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)/loom
loom-prebuild:
	@mkdir -p $(LOOM_TARGET_DIR)
	@echo "== loom models: compiling in the background ($(LOOM_TARGET_DIR)/prebuild.log; run by ci/loom.sh)"
	@(RUSTFLAGS="--cfg loom" nice -n 10 $(CARGO) test -q --target-dir $(LOOM_TARGET_DIR) -p haoyuan-loom --no-run >$(LOOM_TARGET_DIR)/prebuild.log 2>&1 &)

ci-checks:
	@for s in $(CI_SCRIPTS); do \
	  echo "== $$s"; t0=$$(date +%s); \
	  CARGO=$(CARGO) HY_RUST_TEST_PACKAGES="$(RUST_TEST_PACKAGES)" bash $$s || exit 1; \
	  echo "== $$s: $$(( $$(date +%s) - t0 )) s"; \
	done

# `cargo package` of the public crates with verification (each package compiled afresh; minutes,
# so `make test` runs ci/package.sh without it).
.PHONY: package-check
package-check:
	HY_PACKAGE_VERIFY=1 CARGO=$(CARGO) bash ci/package.sh
