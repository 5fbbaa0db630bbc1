# Durability (issue 4): journal, snapshots, crash recovery. Its tests live in core/tests
# (durability_roundtrip, durability_crash with 50 SIGKILLs, durability_corruption with the
# fuzz corpus), so `make test` already runs them through `cargo test`. Extra targets:
#
#   make crash-long        the crash test with 500 kills (HY_CRASH_KILLS to change)
#   make bench-durability  criterion: booking throughput memory/buffered/sync × 1/2/8 threads,
#                          recovery time of a 1 M-record journal
#   make bench-durability-goals  issue 16's goals table, every row from one run (~10 minutes)
#   make fuzz-durability   cargo-fuzz on the journal and snapshot decoders (needs cargo-fuzz and
#                          a nightly toolchain; 60 s each)

.PHONY: crash-long bench-durability bench-durability-goals fuzz-durability

crash-long:
	HY_CRASH_KILLS=$(or $(HY_CRASH_KILLS),500) $(CARGO) test -p haoyuan --release --test durability_crash -- --nocapture

bench-durability:
	$(CARGO) bench -p haoyuan --bench durability

fuzz-durability:
	cd fuzz && cargo +nightly fuzz run journal corpus/journal -- -max_total_time=60
	cd fuzz && cargo +nightly fuzz run snapshot corpus/snapshot -- -max_total_time=60

# Issue 16's goals table, every row from this one run (~10 minutes; not part of make test).
bench-durability-goals:
	bash benches/durability_goals.sh
