# The C ABI (ffi/): C tests (also under valgrind), the HIS example; its Rust tests (the
# header's freshness among them) run in test-rust.
#
#   make test-c       everything below, part of `make test`
#   make ffi-header   regenerate ffi/include/haoyuan.h after changing the C API
#   make bench-ffi    criterion: C ABI overhead against the Rust API (not part of make test)

FFI_BUILD := $(or $(CARGO_TARGET_DIR),target)/debug
FFI_OUT := $(or $(CARGO_TARGET_DIR),target)/ffi-c
FFI_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -g -O1 -Iffi/include
# Static link for the tests (no loader path needed); the example links the shared library.
FFI_STATIC_LIBS := $(FFI_BUILD)/libhaoyuan.a -lpthread -ldl -lm
FFI_C_TESTS := test_api test_bad_input test_events test_threads test_fhir test_durable test_reads test_standby
# The debug C library for the C tests and the conformance runner, from test-rust's build (a
# no-op once it has run): the same packages, so cargo resolves the same features and the
# engine compiled for the tests serves here too (a `cargo build -p haoyuan-ffi` resolved them
# otherwise and compiled the engine again, ~2.5 CPU-minutes). `--lib` makes the C library a
# target of its own, so cargo copies it to $(FFI_BUILD).
FFI_DEBUG_BUILD = $(CARGO) build -q $(RUST_TEST_PACKAGES) --lib --tests
# rayon's global pool threads live until exit: "possibly lost", not errors, so not shown.
# --fair-sched: the tests have threads that poll; timeout: a hang fails instead of stalling CI.
FFI_VALGRIND := timeout 300 valgrind -q --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no

.PHONY: test-c ffi-header bench-ffi
TEST_TARGETS += test-c

test-c:
	@# The Rust side (unit tests; the checked-in header equals what cbindgen makes now) is
	@# test-rust's: `cargo test -p haoyuan-ffi` alone.
	$(FFI_DEBUG_BUILD)
	@mkdir -p $(FFI_OUT)
	@for t in $(FFI_C_TESTS); do \
	  echo "cc ffi/tests/$$t.c"; \
	  $(CC) $(FFI_CFLAGS) ffi/tests/$$t.c $(FFI_STATIC_LIBS) -o $(FFI_OUT)/$$t || exit 1; \
	done
	@for t in $(FFI_C_TESTS); do echo "== $$t"; $(FFI_OUT)/$$t || exit 1; done
	@command -v valgrind >/dev/null || bash ci/lib/apt-install.sh valgrind
	@for t in $(FFI_C_TESTS); do \
	  echo "== valgrind $$t"; \
	  $(FFI_VALGRIND) $(FFI_OUT)/$$t >$(FFI_OUT)/$$t.valgrind.log 2>&1 \
	    || { cat $(FFI_OUT)/$$t.valgrind.log; exit 1; }; \
	  tail -n 1 $(FFI_OUT)/$$t.valgrind.log; \
	done
	$(CC) $(FFI_CFLAGS) ffi/examples/his_embed.c -L$(FFI_BUILD) -lhaoyuan -Wl,-rpath,$(abspath $(FFI_BUILD)) -o $(FFI_OUT)/his_embed
	$(FFI_OUT)/his_embed >$(FFI_OUT)/his_embed.out
	$(FFI_VALGRIND) $(FFI_OUT)/his_embed >/dev/null
	@tail -n 3 $(FFI_OUT)/his_embed.out

ffi-header:
	HY_BLESS=1 $(CARGO) test -p haoyuan-ffi --test header

bench-ffi:
	$(CARGO) bench -p haoyuan-ffi --bench ffi_overhead
