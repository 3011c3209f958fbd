#!/bin/sh
# Installs a build tree into a scratch prefix, then builds tests/install
# against it with find_package(mpisnap) and with pkg-config, and checks that
# every resulting program reports the expected version.
#
# usage: check.sh <cmake> <build-dir> <work-dir> <c-compiler> <version>
set -eu

cmake=$1 build=$2 work=$3 cc=$4 version=$5
here=$(cd "$(dirname "$0")" && pwd)
prefix=$work/prefix

rm -rf "$work"
mkdir -p "$work"

expect_version() {
  out=$("$@")
  if [ "$out" != "$version" ]; then
    echo "check.sh: '$*' printed '$out', expected '$version'" >&2
    exit 1
  fi
  echo "ok: $* -> $out"
}

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"

# The installed tool must start from its own prefix (RPATH $ORIGIN/../lib).
out=$("$prefix/bin/mpisnap" --version)
[ "$out" = "mpisnap $version" ] || {
  echo "check.sh: installed mpisnap --version printed '$out'" >&2; exit 1; }
echo "ok: installed mpisnap --version -> $out"

# CMake consumer, shared and static.
"$cmake" -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" >"$work/cmake-configure.log"
"$cmake" --build "$work/cmake" >"$work/cmake-build.log"
expect_version "$work/cmake/consumer"
expect_version "$work/cmake/consumer_static"

# pkg-config consumer: the .pc file alone must be enough to compile and link.
pcfile=$(find "$prefix" -name mpisnap.pc | head -n 1)
[ -n "$pcfile" ] || { echo "check.sh: no mpisnap.pc installed" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pcfile")
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir mpisnap)
# shellcheck disable=SC2046 # pkg-config output must be split into words.
"$cc" -o "$work/pkgconfig-consumer" "$here/main.c" \
  $(pkg-config --cflags --libs mpisnap) -Wl,-rpath,"$libdir"
expect_version "$work/pkgconfig-consumer"
