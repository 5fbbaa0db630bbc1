#!/usr/bin/env bash
# No module of a crate imports one that imports it back (see ci/import_cycles.py for what is
# read and why). The self-test first plants a cycle and checks that the script finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 ci/import_cycles.py --self-test
python3 ci/import_cycles.py core/src sim/src fhir/src ffi/src python/src
