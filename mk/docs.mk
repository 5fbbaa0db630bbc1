# The API reference of every face, built without a warning; part of `make test` (test-docs):
#   make docs    Rust (cargo doc, -D warnings), Python (pdoc, Python warnings as errors), the C
#                README rendered beside its header; front page $(DOCS_OUT)/index.html
DOCS_TGT := $(abspath $(or $(CARGO_TARGET_DIR),target))
DOCS_OUT := $(DOCS_TGT)/docs
# The public crates and the C ABI's crate (python/ is the native module behind `haoyuan`, whose
# reference is the Python one; benches/tests/loom are not published).
DOCS_CRATES := -p haoyuan -p haoyuan-sim -p haoyuan-fhir -p haoyuan-ffi
DOCS_PY_MODULES := haoyuan haoyuan.sim haoyuan.plots haoyuan.report haoyuan.sweep haoyuan.calibrate

.PHONY: docs test-docs
TEST_TARGETS += test-docs

docs: python-build
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps $(DOCS_CRATES)
	rm -rf $(DOCS_OUT) && mkdir -p $(DOCS_OUT)
	@# Run from the output directory so that the installed package is documented, never the
	@# source tree; -W error: pdoc reports what it cannot resolve as Python warnings.
	cd $(DOCS_OUT) && $(PY_BIN)/python -W error -m pdoc -o python $(DOCS_PY_MODULES)
	$(PY_BIN)/python docs/build_index.py $(DOCS_OUT) $(DOCS_TGT)/doc

test-docs: docs
