# HL7 FHIR R4 scheduling interop (issue 7, fhir/).
#
# The Rust tests (fhir/tests/fhir_*.rs, the fuzz corpus included) run with test-rust. This adds
# the validation by an independent implementation: the example writes one exported resource
# of every kind and status, and fhir.resources (R4 models) must parse each of them.
#
#   make test-fhir

FHIR_VENV ?= .venv
FHIR_SAMPLES ?= target/fhir-samples

.PHONY: test-fhir
test-fhir:
	@test -x $(FHIR_VENV)/bin/python || python3 -m venv $(FHIR_VENV)
	$(FHIR_VENV)/bin/python -m pip install -q --disable-pip-version-check -r python/requirements-fhir.txt
	rm -rf $(FHIR_SAMPLES)
	@# Built by test-rust's cargo call (a no-op here once it has run): `cargo run -p
	@# haoyuan-fhir` would resolve features without the other crates' dev-dependencies and
	@# compile the engine once more.
	@$(CARGO) test -q $(RUST_TEST_PACKAGES) --no-run
	$(or $(CARGO_TARGET_DIR),target)/debug/examples/fhir_export $(FHIR_SAMPLES)
	HAOYUAN_FHIR_SAMPLES=$(abspath $(FHIR_SAMPLES)) $(FHIR_VENV)/bin/python -m pytest -q -p no:cacheprovider --noconftest -o addopts= python/tests/test_fhir_validation.py

TEST_TARGETS += test-fhir
