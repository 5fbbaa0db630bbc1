#!/usr/bin/env bash
# make test-install (mk/install.mk): does `make install` give C and C++ developers a library
# they can use the way they expect, from the prefix alone? A hospital system's build never sees
# our source tree, so neither do these consumers: no -Iffi/include, no target/ path, only
# pkg-config and CMake pointed at the prefix.
#
#   1. make install PREFIX=<scratch>/prefix; check the file list, the SONAME, no debug info
#   2. consumer.c with `pkg-config --cflags --libs haoyuan` (shared), and statically with
#      `pkg-config --static --libs haoyuan`; consumer.cpp with CMake (find_package, the targets
#      haoyuan::haoyuan and haoyuan::haoyuan_static); run each (each exits 1 on a wrong result)
#   3. make uninstall: a file of someone else's stays, everything installed goes
#   4. make install DESTDIR=<scratch>/stage PREFIX=/opt/haoyuan: files land under the stage,
#      paths inside say /opt/haoyuan, the CMake package works from where it was staged
#      (relocatable); make uninstall with the same DESTDIR leaves no file
#
# Usage: tests/install/run.sh SCRATCH_DIR (emptied first). MAKE names make (default make).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:?usage: run.sh SCRATCH_DIR}"
make="${MAKE:-make}"
cc="${CC:-cc}"
rm -rf "$work"
mkdir -p "$work/build"
cd "$root"

fail() {
  echo "test-install: FAIL: $*" >&2
  exit 1
}

# Does the output of a command match an extended regex? Never `cmd | grep -q` here: grep -q
# exits at its first match, the command dies of SIGPIPE if it is still writing, and pipefail
# turns that into a failed pipeline -- a check that fails (or, negated, passes) by timing.
# CI met exactly that with ldd. A command that fails is a failure of the test, not a "no".
output_has() {
  local pattern="$1" out
  shift
  out="$("$@")" || fail "$* exited with $?"
  grep -Eq -- "$pattern" <<<"$out"
}

# Files and links under a directory, relative, sorted.
tree_of() { (cd "$1" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }

version="$(sed -n 's/^#define HY_VERSION "\(.*\)"$/\1/p' ffi/include/haoyuan.h)"
major="${version%%.*}"
expected_tree="$(LC_ALL=C sort <<EOF
include/haoyuan.h
lib/cmake/haoyuan/haoyuanConfig.cmake
lib/cmake/haoyuan/haoyuanConfigVersion.cmake
lib/libhaoyuan.a
lib/libhaoyuan.so
lib/libhaoyuan.so.$major
lib/libhaoyuan.so.$version
lib/pkgconfig/haoyuan.pc
share/haoyuan/install_manifest.txt
EOF
)"

echo "== 1. make install PREFIX=$work/prefix"
prefix="$work/prefix"
"$make" --no-print-directory install PREFIX="$prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "make install"; }
[[ "$(tree_of "$prefix")" == "$expected_tree" ]] ||
  fail "installed files differ: $(diff <(echo "$expected_tree") <(tree_of "$prefix"))"
[[ "$(readlink "$prefix/lib/libhaoyuan.so")" == "libhaoyuan.so.$major" ]] || fail "libhaoyuan.so link"
[[ "$(readlink "$prefix/lib/libhaoyuan.so.$major")" == "libhaoyuan.so.$version" ]] || fail "SONAME link"
output_has "Library soname: \[libhaoyuan\.so\.$major\]" readelf -d "$prefix/lib/libhaoyuan.so.$version" ||
  fail "SONAME of libhaoyuan.so.$version is not libhaoyuan.so.$major"
for lib in "libhaoyuan.so.$version" libhaoyuan.a; do
  if output_has '\.debug_info|\.llvmbc' readelf -S -W "$prefix/lib/$lib"; then fail "$lib has debug info or bitcode"; fi
done
(cd "$prefix" && ls -l lib/libhaoyuan.* include/haoyuan.h)

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[[ "$(pkg-config --variable=prefix haoyuan)" == "$prefix" ]] || fail "haoyuan.pc prefix"
[[ "$(pkg-config --modversion haoyuan)" == "$version" ]] || fail "haoyuan.pc version"
libdir="$(pkg-config --variable=libdir haoyuan)"
cflags=(-std=c11 -Wall -Wextra -Werror -O1)

echo "== 2a. C, shared: cc consumer.c \$(pkg-config --cflags --libs haoyuan)"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
"$cc" "${cflags[@]}" tests/install/consumer.c $(pkg-config --cflags --libs haoyuan) \
  -Wl,-rpath,"$libdir" -o "$work/build/consumer_shared"
output_has "NEEDED.*\[libhaoyuan\.so\.$major\]" readelf -d "$work/build/consumer_shared" ||
  fail "consumer_shared does not need libhaoyuan.so.$major"
output_has "libhaoyuan\.so\.$major => $libdir/libhaoyuan\.so\.$major " ldd "$work/build/consumer_shared" ||
  fail "consumer_shared loads libhaoyuan from elsewhere: $(ldd "$work/build/consumer_shared" | grep haoyuan)"
"$work/build/consumer_shared"

echo "== 2b. C, static: cc consumer.c \$(pkg-config --static --libs haoyuan), -lhaoyuan as -l:libhaoyuan.a"
static_libs="$(pkg-config --static --libs haoyuan)"
# shellcheck disable=SC2046,SC2086
"$cc" "${cflags[@]}" tests/install/consumer.c $(pkg-config --cflags haoyuan) \
  ${static_libs/-lhaoyuan /-l:libhaoyuan.a } -o "$work/build/consumer_static"
if output_has 'NEEDED.*libhaoyuan' readelf -d "$work/build/consumer_static"; then
  fail "consumer_static needs libhaoyuan.so"
fi
"$work/build/consumer_static"

echo "== 2c. C++17, CMake: find_package(haoyuan) + haoyuan::haoyuan, haoyuan::haoyuan_static"
cmake -S tests/install -B "$work/build/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DHY_VERSION="$version" \
  -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" || { cat "$work/cmake.log"; fail "cmake configure"; }
grep -- "-- haoyuan " "$work/cmake.log"
grep -q "^haoyuan_DIR:PATH=$prefix/lib/cmake/haoyuan$" "$work/build/cmake/CMakeCache.txt" ||
  fail "CMake found haoyuan elsewhere than $prefix"
cmake --build "$work/build/cmake" -j 2 >>"$work/cmake.log" || { cat "$work/cmake.log"; fail "cmake build"; }
output_has "libhaoyuan\.so\.$major => $libdir/libhaoyuan\.so\.$major " ldd "$work/build/cmake/app" ||
  fail "app loads libhaoyuan from elsewhere"
if output_has 'NEEDED.*libhaoyuan' readelf -d "$work/build/cmake/app_static"; then
  fail "app_static needs libhaoyuan.so"
fi
"$work/build/cmake/app"
"$work/build/cmake/app_static"

echo "== 3. make uninstall PREFIX=$work/prefix"
echo "not haoyuan's" >"$prefix/lib/someone-elses.txt"
"$make" --no-print-directory uninstall PREFIX="$prefix" >"$work/uninstall.log" ||
  { cat "$work/uninstall.log"; fail "make uninstall"; }
[[ "$(tree_of "$prefix")" == "lib/someone-elses.txt" ]] ||
  fail "after uninstall, $prefix holds: $(tree_of "$prefix" | tr '\n' ' ')"
rm "$prefix/lib/someone-elses.txt"
rmdir "$prefix/lib" "$prefix" || fail "uninstall left directories: $(find "$prefix")"

echo "== 4. make install DESTDIR=$work/stage PREFIX=/opt/haoyuan"
stage="$work/stage"
staged_prefix=/opt/haoyuan
[[ ! -e "$staged_prefix" ]] || staged_prefix="/opt/haoyuan-install-test-$$"
[[ ! -e "$staged_prefix" ]] || fail "$staged_prefix exists"
"$make" --no-print-directory install DESTDIR="$stage" PREFIX="$staged_prefix" >"$work/install-staged.log" ||
  { cat "$work/install-staged.log"; fail "make install DESTDIR"; }
[[ ! -e "$staged_prefix" ]] || fail "make install DESTDIR=… wrote to $staged_prefix"
[[ "$(tree_of "$stage")" == "$(sed "s|^|${staged_prefix#/}/|" <<<"$expected_tree")" ]] ||
  fail "staged files differ: $(tree_of "$stage" | tr '\n' ' ')"
grep -qx "prefix=$staged_prefix" "$stage$staged_prefix/lib/pkgconfig/haoyuan.pc" || fail "staged haoyuan.pc prefix"
if grep -v "^$staged_prefix/" "$stage$staged_prefix/share/haoyuan/install_manifest.txt"; then
  fail "the staged manifest lists paths outside $staged_prefix"
fi
cmake -S tests/install -B "$work/build/cmake-staged" -DCMAKE_PREFIX_PATH="$stage$staged_prefix" \
  -DHY_VERSION="$version" >"$work/cmake-staged.log" || { cat "$work/cmake-staged.log"; fail "cmake (staged)"; }
cmake --build "$work/build/cmake-staged" --target app >>"$work/cmake-staged.log" ||
  { cat "$work/cmake-staged.log"; fail "cmake build (staged)"; }
"$work/build/cmake-staged/app" >/dev/null || fail "app against the staged prefix"
"$make" --no-print-directory uninstall DESTDIR="$stage" PREFIX="$staged_prefix" >>"$work/uninstall.log" ||
  { cat "$work/uninstall.log"; fail "make uninstall DESTDIR"; }
[[ -z "$(tree_of "$stage")" ]] || fail "after uninstall, $stage holds: $(tree_of "$stage" | tr '\n' ' ')"
[[ ! -e "$stage$staged_prefix" ]] || fail "uninstall left $stage$staged_prefix"

echo "test-install: ok (installed, 4 consumers built from the prefix and run, staged, uninstalled)"
