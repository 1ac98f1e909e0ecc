#!/bin/sh
# A program built with only `pkg-config --cflags --libs mif`, and one with CMake's
# find_package(mif) / mif::api, against the API installed by
# `cmake --install BUILD --prefix DIR --component mif_api` into a temporary directory:
# both compile, link and run. Usage: installed_test.sh BUILD_DIR C_COMPILER CMAKE
set -eu
build=$1 cc=$2 cmake=$3
tmp=$(mktemp -d /tmp/mifapi-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$cmake" --install "$build" --prefix "$tmp/prefix" --component mif_api >/dev/null
cat >"$tmp/prog.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <mif/mif.h>
int main(void) {
  if (mif_api_version() >> 16 != MIF_API_VERSION_MAJOR) return 2;
  if (mif_socket_set_pvd(-1, "wifi") != -1 || errno != EBADF) return 3;
  if (strlen(mif_strerror(EBADF)) == 0) return 4;
  puts("ok");
  return 0;
}
C
pcdir=$(dirname "$(find "$tmp/prefix" -name mif.pc)")
export PKG_CONFIG_PATH="$pcdir"
flags=$(pkg-config --cflags --libs mif)
libdir=$(pkg-config --variable=libdir mif)
# shellcheck disable=SC2086
"$cc" -Wall -Werror -o "$tmp/prog" "$tmp/prog.c" $flags -Wl,-rpath,"$libdir"
test "$("$tmp/prog")" = ok
# The soname is versioned and the program needs it, not the unversioned link.
readelf -d "$tmp/prog" | grep -q 'NEEDED.*\[libmif-api\.so\.0\]'

mkdir "$tmp/cm"
cp "$tmp/prog.c" "$tmp/cm/"
cat >"$tmp/cm/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.16)
project(mifapiuser C)
find_package(mif 0.1 REQUIRED)
add_executable(prog prog.c)
target_link_libraries(prog PRIVATE mif::api)
C
"$cmake" -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_C_COMPILER="$cc" >/dev/null
"$cmake" --build "$tmp/cm/build" >/dev/null
test "$("$tmp/cm/build/prog")" = ok
echo "installed API: pkg-config and find_package(mif) programs ran"
