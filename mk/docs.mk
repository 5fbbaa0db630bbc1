# The API reference of every face, built without a warning; part of `make test` (test-docs):
#   make docs    Rust (cargo doc, -D warnings), Python (pdoc, Python warnings as errors), the C
#                README rendered beside its header; front page $(DOCS_OUT)/index.html
DOCS_TGT := $(abspath $(or $(CARGO_TARGET_DIR),target))
DOCS_OUT := $(DOCS_TGT)/docs
# The whole workspace, as the issue asks (`cargo doc --workspace --no-deps`, -D warnings): the
# published crates and the internal ones (benches, tests, the Python module's native crate)
# alike. The C ABI's crate is not in it (doc = false, below) and is documented apart.
DOCS_CRATES := --workspace
DOCS_PY_MODULES := haoyuan haoyuan.sim haoyuan.plots haoyuan.report haoyuan.sweep haoyuan.calibrate

.PHONY: docs test-docs
TEST_TARGETS += test-docs

# sim-python-env: the venv with the simulator's extras, which haoyuan.plots and haoyuan.report
# import (matplotlib); python-build alone left it to the order of -j whether they were there.
docs: sim-python-env
	rm -rf $(DOCS_OUT) && mkdir -p $(DOCS_OUT)
	@# The C ABI's crate builds a library named `haoyuan` too, so its rustdoc pages land in
	@# target/doc/haoyuan, where the engine's go (ffi/Cargo.toml: doc = false keeps it out of
	@# `cargo doc`). Documented alone first and copied aside; removing the directory makes
	@# cargo run each rustdoc again (it re-runs a doc unit whose output is missing).
	rm -rf $(DOCS_TGT)/doc/haoyuan
	$(CARGO) rustdoc -p haoyuan-ffi --lib -- -D warnings
	cp -r $(DOCS_TGT)/doc $(DOCS_OUT)/ffi-rust && rm -rf $(DOCS_TGT)/doc/haoyuan
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps $(DOCS_CRATES)
	@# matplotlib (haoyuan.plots) builds its font cache on its first import, and that runs
	@# `fc-list`; pdoc refuses a subprocess during an import with a warning, an error here. So
	@# the cache is built first, outside pdoc, in a directory of the build: a fresh machine has
	@# none in $$HOME, and whether another step had made one raced with this one under -j.
	MPLCONFIGDIR=$(DOCS_TGT)/mplconfig $(PY_BIN)/python -c "import matplotlib.font_manager"
	@# Run from the output directory so that the installed package is documented, never the
	@# source tree; -W error: pdoc reports what it cannot resolve as Python warnings.
	cd $(DOCS_OUT) && MPLCONFIGDIR=$(DOCS_TGT)/mplconfig \
		$(PY_BIN)/python -W error -m pdoc -o python $(DOCS_PY_MODULES)
	$(PY_BIN)/python docs/build_index.py $(DOCS_OUT) $(DOCS_TGT)/doc

test-docs: docs
