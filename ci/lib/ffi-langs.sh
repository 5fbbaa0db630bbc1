# Sourced by ci/java-jna.sh and ci/csharp-mono.sh (not a check itself: ci.mk runs ci/*.sh only).
# What both need before they run their language's example against target/release: the release
# library built, and the facts the example checks its own declarations against —
#   out      the target dir (absolute); the example's build products go to $out/ffi-langs
#   sizes    sizeof() of the structs the examples declare, as the C compiler lays them out
#   version  HY_VERSION of the header
out="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
# The library alone, as `make install` builds it (mk/install.mk, INSTALL_BUILD: one release
# build of the engine shared with the Python module's).
${CARGO:-cargo} rustc --release -q -p haoyuan-ffi --lib --crate-type cdylib --crate-type staticlib
mkdir -p "$out/ffi-langs"

"${CC:-cc}" -std=c11 -Iffi/include -x c -o "$out/ffi-langs/struct-sizes" - <<'C'
#include <stdio.h>
#include "haoyuan.h"
int main(void) {
    printf("hy_request=%zu hy_booking=%zu hy_slot_spec=%zu hy_slot_info=%zu\n", sizeof(hy_request),
           sizeof(hy_booking), sizeof(hy_slot_spec), sizeof(hy_slot_info));
    return 0;
}
C
read -r -a sizes < <("$out/ffi-langs/struct-sizes")
version="$(sed -n 's/^#define HY_VERSION "\(.*\)"$/\1/p' ffi/include/haoyuan.h)"
