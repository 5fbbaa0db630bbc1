#!/usr/bin/env bash
# Java through JNA: the marshalling rules ffi/README.md ("Other languages") gives Java users
# (bool fields as byte, size_t, structs, a callback, hy_string_free) are only worth something if
# a real JVM follows them. Runs ffi/examples/java/HaoyuanJna.java, which opens an engine,
# publishes, books, cancels and checks every result, against the release library in
# target/release (the library `make install` installs, before stripping; make test-install
# builds the same one, so the release build is shared). The struct sizes are checked against
# the C compiler's sizeof.
#
# Needs Debian's openjdk-17-jdk-headless and libjna-java (installed if missing). Java 11+ runs a
# single source file directly, so nothing is compiled to disk.
set -euo pipefail
cd "$(dirname "$0")/.."

jna=/usr/share/java/jna.jar
if ! command -v java >/dev/null || [[ ! -f "$jna" ]]; then
  bash ci/lib/apt-install.sh openjdk-17-jdk-headless libjna-java
fi

# The release library, $out, the struct sizes and the header's version (shared with the other
# language's script).
source ci/lib/ffi-langs.sh

java -cp "$jna" -Djna.library.path="$out/release" ffi/examples/java/HaoyuanJna.java "$version" "${sizes[@]}"
