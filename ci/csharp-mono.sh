#!/usr/bin/env bash
# C# through P/Invoke: the marshalling rules ffi/README.md ("Other languages") gives .NET users
# (bool as UnmanagedType.U1, size_t as UIntPtr, structs, a callback delegate, hy_string_free)
# are only worth something if a real runtime follows them. Builds and runs
# ffi/examples/csharp/HaoyuanPInvoke.cs with Mono, which opens an engine, publishes, books,
# cancels and checks every result, against the release library in target/release (the library
# `make install` installs, before stripping; make test-install builds the same one, so the
# release build is shared). The struct sizes are checked against the C compiler's sizeof.
#
# Needs Debian's mono-mcs and mono-runtime (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mcs >/dev/null || ! command -v mono >/dev/null; then
  bash ci/lib/apt-install.sh mono-mcs mono-runtime
fi

# The release library, $out, the struct sizes and the header's version (shared with the other
# language's script).
source ci/lib/ffi-langs.sh

mcs -warnaserror -nologo -out:"$out/ffi-langs/HaoyuanPInvoke.exe" ffi/examples/csharp/HaoyuanPInvoke.cs
LD_LIBRARY_PATH="$out/release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  mono "$out/ffi-langs/HaoyuanPInvoke.exe" "$version" "${sizes[@]}"
