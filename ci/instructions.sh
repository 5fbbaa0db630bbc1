#!/usr/bin/env bash
# Instructions per operation on the hot paths, counted by valgrind's callgrind: unlike a timing,
# the count does not depend on the load of a shared machine, so it can gate. Each operation runs
# at two lengths in the `hot_path` example (benches/examples/hot_path.rs); the difference of the
# totals divided by the difference of the iterations is the cost of one operation, set-up
# cancelled out. A count more than 10% over the figure committed in ci/instructions.txt fails
# (an improvement passes: commit the new figure with `HY_BLESS=1 bash ci/instructions.sh`).
#
# Built in the test profile (Cargo.toml: optimised, debug assertions on), which `make test` has
# compiled already, so this costs the example alone; the release figures of BENCHMARKS.md are
# lower. callgrind serialises threads, so the counts hardly move between runs (the figures
# below carry a 10% margin for that and for CPU-dependent code paths such as memchr's).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || bash ci/lib/apt-install.sh valgrind

# In `make test`, test-rust's build: make passes its package list (HY_RUST_TEST_PACKAGES), and
# the same packages resolve the same features, so the example links the engine test-rust
# compiled; `-p haoyuan-benches` alone compiled the engine once more (~2.5 CPU-minutes).
# shellcheck disable=SC2086 # a list of arguments
${CARGO:-cargo} build -q ${HY_RUST_TEST_PACKAGES:--p haoyuan-benches} --example hot_path
bin="${CARGO_TARGET_DIR:-target}/debug/examples/hot_path"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# operation, iterations of the short and the long run
ops=(
  "book_cancel 20000 40000"
  "hold_confirm_cancel 10000 20000"
  "query 500 1000"
)

total() { # total instructions of `hot_path $1 $2`
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2" "$bin" "$1" "$2" 2>&1 >/dev/null |
    sed -n 's/.*refs: *//p' | tr -d ,
}

measured="$out/measured.txt"
for op in "${ops[@]}"; do
  read -r name short long <<<"$op"
  a="$(total "$name" "$short")"
  b="$(total "$name" "$long")"
  echo "$name $(((b - a) / (long - short)))" >>"$measured"
done

if [[ "${HY_BLESS:-}" == 1 ]]; then
  {
    echo "# Instructions per operation (callgrind, test profile): ci/instructions.sh checks"
    echo "# that none grows more than 10% over these. Refresh: HY_BLESS=1 bash ci/instructions.sh"
    cat "$measured"
  } >ci/instructions.txt
  cat ci/instructions.txt
  exit 0
fi

python3 - "$measured" ci/instructions.txt <<'EOF'
import sys
measured = dict(l.split() for l in open(sys.argv[1]))
committed = dict(l.split() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#"))
failed = False
for name, n in measured.items():
    n = int(n)
    if name not in committed:
        print(f"instructions: {name}: {n} per operation, no committed figure (HY_BLESS=1 to add)")
        failed = True
        continue
    base = int(committed[name])
    change = (n - base) / base
    verdict = "FAIL: more than 10% over" if change > 0.10 else "ok"
    print(f"instructions: {name}: {n} per operation (committed {base}, {change:+.1%}) {verdict}")
    failed |= change > 0.10
sys.exit(1 if failed else 0)
EOF
