# The extra checks of ci/ (one commented script each), part of `make test`:
#   make ci-checks    clippy -D warnings, rustfmt --check, import cycles, loom models
CI_SCRIPTS := $(sort $(wildcard ci/*.sh))

.PHONY: ci-checks
TEST_TARGETS += ci-checks

ci-checks:
	@for s in $(CI_SCRIPTS); do echo "== $$s"; CARGO=$(CARGO) bash $$s || exit 1; done
