# Conformance: three faces, one vocabulary (tests/conformance/, README there).
#
#   make test-conformance   play every scenario of tests/conformance/scenarios/*.json through the
#                           Rust, C and Python faces (one runner each), each runner checking every
#                           call against the scenario's expectations; then compare the three
#                           outputs byte for byte (part of `make test`)
#
# Outputs: target/conformance/{rust,c,python}/NAME.jsonl, one canonical JSON line per call and
# then one per event. The C runner parses scenarios with cJSON (Debian's libcjson-dev, installed
# here if missing) and runs under valgrind (no errors, no definite leaks). Reuses what the other
# targets build: the debug libhaoyuan.a of test-c, the Python module of python-build (mk/python.mk),
# the haoyuan-tests build of test-rust. Adding a scenario is adding one JSON file.

CONF_DIR := tests/conformance
CONF_SCENARIOS = $(sort $(wildcard $(CONF_DIR)/scenarios/*.json))
CONF_OUT := $(or $(CARGO_TARGET_DIR),target)/conformance
CONF_LIB := $(or $(CARGO_TARGET_DIR),target)/debug/libhaoyuan.a
CONF_RUST := $(or $(CARGO_TARGET_DIR),target)/debug/conformance
CONF_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O1 -Iffi/include
CONF_VALGRIND := timeout 300 valgrind -q --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no

.PHONY: test-conformance conformance-runners
TEST_TARGETS += test-conformance

# The C runner, built against the debug static library (the Rust one is test-rust's build, see
# below; the Python one needs the module of python-build).
conformance-runners: python-build
	@test -f /usr/include/cjson/cJSON.h || bash ci/lib/apt-install.sh libcjson-dev
	@command -v valgrind >/dev/null || bash ci/lib/apt-install.sh valgrind
	$(FFI_DEBUG_BUILD)
	@mkdir -p $(CONF_OUT)
	$(CC) $(CONF_CFLAGS) $(CONF_DIR)/runner.c $(CONF_LIB) -lcjson -lpthread -ldl -lm -o $(CONF_OUT)/runner-c

# Every runner plays every scenario (a runner exits non-zero, naming the call, when an
# expectation fails); then each scenario's three outputs must be the same bytes.
test-conformance: conformance-runners
	@rm -rf $(CONF_OUT)/rust $(CONF_OUT)/c $(CONF_OUT)/python
	@echo "== rust runner ($(CONF_RUST)) over $(CONF_DIR)/scenarios/*.json"
	@# Built by test-rust's cargo call (a no-op here once it has run): a `cargo run` would
	@# resolve features without the tests' dev-dependencies and compile the engine again.
	@$(CARGO) test -q $(RUST_TEST_PACKAGES) --no-run
	@$(CONF_RUST) --out $(CONF_OUT)/rust $(CONF_SCENARIOS)
	@echo "== c runner ($(CONF_OUT)/runner-c, under valgrind)"
	@$(CONF_VALGRIND) $(CONF_OUT)/runner-c --out $(CONF_OUT)/c $(CONF_SCENARIOS)
	@echo "== python runner ($(CONF_DIR)/runner.py)"
	@$(PY_BIN)/python $(CONF_DIR)/runner.py --out $(CONF_OUT)/python $(CONF_SCENARIOS)
	@for s in $(CONF_SCENARIOS); do \
	  n=$$(basename $$s .json); \
	  for face in c python; do \
	    cmp -s $(CONF_OUT)/rust/$$n.jsonl $(CONF_OUT)/$$face/$$n.jsonl || { \
	      echo "conformance: $$n: the $$face output differs from the rust output:"; \
	      diff -u $(CONF_OUT)/rust/$$n.jsonl $(CONF_OUT)/$$face/$$n.jsonl | sed -n 1,20p; \
	      exit 1; }; \
	  done; \
	done
	@echo "conformance: $(words $(CONF_SCENARIOS)) scenarios, Rust = C = Python byte for byte ($(CONF_OUT))"
