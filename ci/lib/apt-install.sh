#!/usr/bin/env bash
# Install the Debian packages a check needs, if missing: `ci/lib/apt-install.sh PKG…`.
# One installer at a time (flock): `make test` runs two targets side by side, and two apt-gets
# at once fail on dpkg's lock. Root only (as the checks run here and in CI).
set -euo pipefail
exec 9>/tmp/haoyuan-apt.lock
flock 9
missing=()
for p in "$@"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "apt-install: ${missing[*]}"
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
