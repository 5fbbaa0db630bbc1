#!/usr/bin/env bash
# `make install` / `make uninstall` of the C library (mk/install.mk calls this; a shell script
# reads better than a recipe of this length). Installs what a C, C++, Java or C# developer
# expects under a prefix, and a manifest of it so that uninstall removes exactly that:
#
#   $LIBDIR/libhaoyuan.so.MAJOR.MINOR.PATCH     the shared library, SONAME libhaoyuan.so.MAJOR
#   $LIBDIR/libhaoyuan.so.MAJOR -> …            what programs load (the SONAME)
#   $LIBDIR/libhaoyuan.so -> libhaoyuan.so.MAJOR what `-lhaoyuan` links
#   $LIBDIR/libhaoyuan.a                        the static library
#   $INCLUDEDIR/haoyuan.h
#   $LIBDIR/pkgconfig/haoyuan.pc
#   $LIBDIR/cmake/haoyuan/haoyuanConfig.cmake, haoyuanConfigVersion.cmake
#   $PREFIX/share/haoyuan/install_manifest.txt  every path above, and the directories made
#
# Both libraries are installed stripped of debug info (`strip --strip-debug`, as GNU's
# `make install-strip` and Debian's dh_strip do; no separate .debug file is installed). The
# symbol table stays, so perf and backtraces still name functions. The release profile keeps
# `debug = 1` for profiling: the unstripped library stays in target/release.
#
# Usage: install.sh install|uninstall, with the environment:
#   PREFIX, LIBDIR, INCLUDEDIR   where the files go on the target system (absolute)
#   DESTDIR                      a staging root put in front of every path written (may be empty)
#   HY_RELEASE_DIR               where cargo built libhaoyuan.{so,a} (install only)
#   HY_STATIC_LIBS               the system libraries libhaoyuan.a needs, as -l flags (install only)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
header="$here/../include/haoyuan.h"
: "${PREFIX:?}" "${LIBDIR:?}" "${INCLUDEDIR:?}"
DESTDIR="${DESTDIR:-}"
for dir in "$PREFIX" "$LIBDIR" "$INCLUDEDIR"; do
  case "$dir" in
    /*) ;;
    *) echo "install.sh: $dir is not an absolute path (PREFIX, LIBDIR, INCLUDEDIR)" >&2; exit 2 ;;
  esac
done
manifest="$PREFIX/share/haoyuan/install_manifest.txt"

# The version is the header's (ffi/tests/header.rs keeps it equal to Cargo's, and ffi/build.rs
# gives the library the SONAME of the same MAJOR).
version="$(sed -n 's/^#define HY_VERSION "\(.*\)"$/\1/p' "$header")"
major="$(sed -n 's/^#define HY_VERSION_MAJOR //p' "$header")"
minor="$(sed -n 's/^#define HY_VERSION_MINOR //p' "$header")"
[[ "$version" == "$major.$minor".* ]] || { echo "install.sh: no version in $header" >&2; exit 2; }

uninstall() {
  local list="$DESTDIR$manifest"
  if [[ ! -f "$list" ]]; then
    echo "uninstall: $list not found: nothing of haoyuan is installed under $DESTDIR$PREFIX" >&2
    exit 1
  fi
  local path files=() dirs=()
  while IFS= read -r path; do
    case "$path" in
      /*/) dirs+=("$path") ;;
      /*) files+=("$path") ;;
      *) echo "uninstall: $list: not an absolute path: $path" >&2; exit 1 ;;
    esac
    case "$path" in
      */../*|*/./*|*/..|*/.) echo "uninstall: $list: refusing $path" >&2; exit 1 ;;
    esac
  done <"$list"
  for path in "${files[@]}"; do
    if [[ -f "$DESTDIR$path" || -L "$DESTDIR$path" ]]; then
      rm -f "$DESTDIR$path"
      echo "removed $DESTDIR$path"
    fi
  done
  # The directories install made, deepest first; one that holds something else stays.
  if ((${#dirs[@]})); then
    printf '%s\n' "${dirs[@]}" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- |
      while IFS= read -r path; do
        if [[ -d "$DESTDIR$path" ]]; then
          if rmdir "$DESTDIR$path" 2>/dev/null; then
            echo "removed $DESTDIR$path"
          else
            echo "kept $DESTDIR$path (not empty)"
          fi
        fi
      done
  fi
}

# The paths of this install, without DESTDIR: files, and directories (ending in /) it created.
installed=()

# mkdir -p that records the directories it creates.
make_dir() {
  local dir="$1" missing=()
  [[ -z "$DESTDIR" ]] || mkdir -p "$DESTDIR"
  while [[ "$dir" != / && ! -d "$DESTDIR$dir" ]]; do
    missing+=("$dir")
    dir="$(dirname "$dir")"
  done
  local i
  for ((i = ${#missing[@]} - 1; i >= 0; i--)); do
    mkdir -m 755 "$DESTDIR${missing[i]}"
    # Only ours to remove at uninstall if it is the prefix or in it (or in LIBDIR, INCLUDEDIR):
    # a staging root's /opt made under DESTDIR is not.
    case "${missing[i]}/" in
      "$PREFIX"/*|"$LIBDIR"/*|"$INCLUDEDIR"/*) installed+=("${missing[i]}/") ;;
    esac
  done
}

# install_file MODE SOURCE DEST
install_file() {
  make_dir "$(dirname "$3")"
  install -m "$1" "$2" "$DESTDIR$3"
  installed+=("$3")
  echo "installed $DESTDIR$3"
}

# link TARGET NAME (a relative symlink)
link() {
  make_dir "$(dirname "$2")"
  ln -sfn "$1" "$DESTDIR$2"
  installed+=("$2")
  echo "installed $DESTDIR$2 -> $1"
}

# A path for a .pc file: under ${prefix} when it is.
pc_path() {
  case "$1" in
    "$PREFIX") echo '${prefix}' ;;
    "$PREFIX"/*) echo "\${prefix}/${1#"$PREFIX"/}" ;;
    *) echo "$1" ;;
  esac
}

# fill TEMPLATE DEST: replace the @NAME@ placeholders.
fill() {
  local cmake_dir="$LIBDIR/cmake/haoyuan" tmp
  tmp="$(mktemp)"
  sed -e "s|@PREFIX@|$PREFIX|g" \
      -e "s|@LIBDIR@|$(pc_path "$LIBDIR")|g" \
      -e "s|@INCLUDEDIR@|$(pc_path "$INCLUDEDIR")|g" \
      -e "s|@CMAKE_TO_LIBDIR@|$(realpath -m --relative-to="$cmake_dir" "$LIBDIR")|g" \
      -e "s|@CMAKE_TO_INCLUDEDIR@|$(realpath -m --relative-to="$cmake_dir" "$INCLUDEDIR")|g" \
      -e "s|@VERSION@|$version|g" \
      -e "s|@MAJOR@|$major|g" \
      -e "s|@MINOR@|$minor|g" \
      -e "s|@URL@|https://example.invalid/haoyuan|g" \
      -e "s|@STATIC_LIBS@|$HY_STATIC_LIBS|g" \
      -e "s|@CMAKE_STATIC_LIBS@|$(echo "$HY_STATIC_LIBS" | sed -e 's/^-l//' -e 's/ -l/;/g')|g" \
      "$1" >"$tmp"
  if grep -n '@[A-Z_]*@' "$tmp" >&2; then
    echo "install.sh: placeholder left in $1" >&2
    rm -f "$tmp"
    exit 2
  fi
  install_file 644 "$tmp" "$2"
  rm -f "$tmp"
}

install_all() {
  : "${HY_RELEASE_DIR:?}" "${HY_STATIC_LIBS:?}"
  local so="$HY_RELEASE_DIR/libhaoyuan.so" a="$HY_RELEASE_DIR/libhaoyuan.a"
  [[ -f "$so" && -f "$a" ]] || { echo "install.sh: build first: no $so or $a" >&2; exit 2; }
  local soname
  soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
  if [[ "$soname" != "libhaoyuan.so.$major" ]]; then
    echo "install.sh: $so has SONAME '$soname', the header says libhaoyuan.so.$major" >&2
    exit 2
  fi

  # A previous install's paths stay in the manifest (an older libhaoyuan.so.M.m.p that an
  # upgrade left behind, the directories that install made) so that uninstall finds them.
  local previous=()
  if [[ -f "$DESTDIR$manifest" ]]; then
    local path
    while IFS= read -r path; do
      if [[ -e "$DESTDIR${path%/}" || -L "$DESTDIR${path%/}" ]]; then previous+=("$path"); fi
    done <"$DESTDIR$manifest"
  fi

  install_file 755 "$so" "$LIBDIR/libhaoyuan.so.$version"
  ${STRIP:-strip} --strip-debug "$DESTDIR$LIBDIR/libhaoyuan.so.$version"
  link "libhaoyuan.so.$version" "$LIBDIR/libhaoyuan.so.$major"
  link "libhaoyuan.so.$major" "$LIBDIR/libhaoyuan.so"
  install_file 644 "$a" "$LIBDIR/libhaoyuan.a"
  # Also without the LLVM bitcode rustc embeds in each object for its own LTO (.llvmbc,
  # .llvmcmd: 48 of the 66 MB left after --strip-debug), which C and C++ linkers ignore.
  ${STRIP:-strip} --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd \
    "$DESTDIR$LIBDIR/libhaoyuan.a"
  install_file 644 "$header" "$INCLUDEDIR/haoyuan.h"
  fill "$here/haoyuan.pc.in" "$LIBDIR/pkgconfig/haoyuan.pc"
  fill "$here/haoyuanConfig.cmake.in" "$LIBDIR/cmake/haoyuan/haoyuanConfig.cmake"
  fill "$here/haoyuanConfigVersion.cmake.in" "$LIBDIR/cmake/haoyuan/haoyuanConfigVersion.cmake"

  make_dir "$(dirname "$manifest")"
  installed+=("$manifest")
  local tmp
  tmp="$(mktemp)"
  printf '%s\n' "${previous[@]+"${previous[@]}"}" "${installed[@]}" | grep -v '^$' | sort -u >"$tmp"
  install -m 644 "$tmp" "$DESTDIR$manifest"
  rm -f "$tmp"
  echo "installed $DESTDIR$manifest"
}

case "${1:-}" in
  install) install_all ;;
  uninstall) uninstall ;;
  *) echo "usage: $0 install|uninstall (see the comment at the top)" >&2; exit 2 ;;
esac
