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
  apt-get update -qq && apt-get install -y -qq mono-mcs mono-runtime >/dev/null
fi

out="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
${CARGO:-cargo} build --release -q -p haoyuan-ffi
mkdir -p "$out/ffi-langs"

# sizeof() of the structs the example declares, as the C compiler lays them out.
"${CC:-cc}" -std=c11 -Iffi/include -x c -o "$out/ffi-langs/struct-sizes" - <<'EOF'
#include <stdio.h>
#include "haoyuan.h"
int main(void) {
    printf("hy_request=%zu hy_booking=%zu hy_slot_spec=%zu hy_slot_info=%zu\n", sizeof(hy_request),
           sizeof(hy_booking), sizeof(hy_slot_spec), sizeof(hy_slot_info));
    return 0;
}
EOF
read -r -a sizes < <("$out/ffi-langs/struct-sizes")
version="$(sed -n 's/^#define HY_VERSION "\(.*\)"$/\1/p' ffi/include/haoyuan.h)"

mcs -warnaserror -nologo -out:"$out/ffi-langs/HaoyuanPInvoke.exe" ffi/examples/csharp/HaoyuanPInvoke.cs
LD_LIBRARY_PATH="$out/release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  mono "$out/ffi-langs/HaoyuanPInvoke.exe" "$version" "${sizes[@]}"
