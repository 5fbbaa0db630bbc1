# Benchmarks (issue 8). Nothing here is part of `make test`: timings belong in benchmarks,
# never in timed tests, and the comparison needs servers.
#
#   make bench-compare   haoyuan vs PostgreSQL, Redis and a one-Mutex baseline -> BENCHMARKS.md
#   make bench-memory    bytes per live slot and per booking over ~10 M slots (counting allocator)
#   make bench-province  a province in one process: 10 M slots, 100 M residents with a card, 3 M
#                        bookings; build times, memory and latencies (~12 GB, < 10 minutes)
#   make bench-suite     the criterion suite (publish, availability, booking, contention, flash crowd)
#   make bench-province-goals  issue 14's goals table, every row from one run (~5 minutes,
#                        ~10.5 GB; benches/province_goals.sh)

.PHONY: bench-compare bench-memory bench-province bench-suite bench-province-goals

bench-compare:
	bash benches/compare/run.sh

bench-memory:
	$(CARGO) bench -p haoyuan-benches --bench memory

bench-province:
	$(CARGO) bench -p haoyuan-benches --bench province

bench-suite:
	$(CARGO) bench -p haoyuan-benches

bench-province-goals:
	bash benches/province_goals.sh
