#!/usr/bin/env bash
# `cargo package` of the public crates (haoyuan, haoyuan-sim, haoyuan-fhir): the manifests are
# fit for crates.io (every path dependency also names a version, metadata present) and each
# package holds what it needs (its README, sources). Nothing is published.
#
# In `make test` the packages are built without compiling them (`--no-verify`): verification
# compiles each package afresh in the dev profile, which nothing else in `make test` uses
# (3–6 minutes on this 2-core machine). `make package-check` (HY_PACKAGE_VERIFY=1) verifies:
# `cargo package --workspace`-style, the three together, so that haoyuan-sim and haoyuan-fhir
# are compiled against the packaged haoyuan, not against crates.io.
set -euo pipefail
cd "$(dirname "$0")/.."
crates=(haoyuan haoyuan-sim haoyuan-fhir)
args=()
for c in "${crates[@]}"; do args+=(-p "$c"); done
verify=(--no-verify)
[[ "${HY_PACKAGE_VERIFY:-0}" == 1 ]] && verify=()
# --allow-dirty: a developer's tree may hold uncommitted work; CI's clone is clean anyway.
out="$(${CARGO:-cargo} package "${args[@]}" --allow-dirty "${verify[@]}" 2>&1)" || {
  echo "$out"
  echo "package: cargo package failed" >&2
  exit 1
}
if grep -q "^warning: manifest has no" <<<"$out"; then
  echo "$out"
  echo "package: a public crate's manifest lacks documentation/homepage/repository" >&2
  exit 1
fi
status=0
for c in "${crates[@]}"; do
  list="$(${CARGO:-cargo} package -p "$c" --allow-dirty --list 2>/dev/null)"
  for need in Cargo.toml README.md src/lib.rs; do
    if ! grep -qx "$need" <<<"$list"; then
      echo "package: $c lacks $need" >&2
      status=1
    fi
  done
  crate="${CARGO_TARGET_DIR:-target}/package/$c-$(sed -n 's/^version = "\(.*\)"/\1/p;T;q' Cargo.toml).crate"
  echo "package: $c: $(wc -l <<<"$list") files, $(stat -c %s "$crate") bytes compressed"
done
exit $status
