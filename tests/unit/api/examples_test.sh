#!/bin/sh
# examples/api as a user builds it from the installed package (issue 12): the C example
# with its CMakeLists.txt (find_package(mif)) and with its Makefile (pkg-config alone), and
# the Python module and script, all against `cmake --install BUILD --component mif_api`
# into a temporary prefix, which is then moved (both the .pc file, the CMake package and
# the Python module find the library relative to where they are). No network is used: each
# program runs its usage and error paths. Usage: examples_test.sh BUILD_DIR C_COMPILER CMAKE
set -eu
build=$1 cc=$2 cmake=$3
tmp=$(mktemp -d /tmp/mifapi-examples-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "examples_test: $*" >&2; exit 1; }
"$cmake" --install "$build" --prefix "$tmp/installed" --component mif_api >/dev/null
mv "$tmp/installed" "$tmp/prefix"
prefix=$tmp/prefix
examples=$(find "$prefix" -path '*/doc/mif/examples/api' -type d)
[ -n "$examples" ] || fail "no examples/api under the prefix"
for f in fetch_each.c fetch_each.py CMakeLists.txt Makefile; do
  [ -f "$examples/$f" ] || fail "examples/api/$f not installed"
done

# 1. CMake: find_package(mif), mif::api.
"$cmake" -S "$examples" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
"$cmake" --build "$tmp/cm" >/dev/null
st=0; "$tmp/cm/fetch_each" >/dev/null 2>"$tmp/err" || st=$?
[ "$st" = 2 ] && grep -q '^usage: fetch_each' "$tmp/err" || fail "cmake-built fetch_each: status $st: $(cat "$tmp/err")"
readelf -d "$tmp/cm/fetch_each" | grep -q 'NEEDED.*\[libmif-api\.so\.0\]' || fail "not linked with libmif-api.so.0"

# 2. The Makefile: pkg-config alone.
mkdir "$tmp/mk"
cp "$examples/fetch_each.c" "$examples/Makefile" "$tmp/mk/"
pcdir=$(dirname "$(find "$prefix" -name mif.pc)")
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir mif)
PKG_CONFIG_PATH=$pcdir make -s -C "$tmp/mk" CC="$cc" CFLAGS="-O2 -Wall -Wextra -Werror" \
  LDFLAGS="-Wl,-rpath,$libdir" >/dev/null
st=0; "$tmp/mk/fetch_each" ftp://x >/dev/null 2>"$tmp/err" || st=$?
[ "$st" = 2 ] || fail "make-built fetch_each: status $st: $(cat "$tmp/err")"
# A PvD that does not exist: the API's error, naming it (no lookup is sent).
st=0; "$tmp/mk/fetch_each" http://www.example.test/ nosuchpvd >/dev/null 2>"$tmp/err" || st=$?
[ "$st" = 1 ] && grep -q "'nosuchpvd'" "$tmp/err" || fail "unknown PvD: status $st: $(cat "$tmp/err")"

# 3. The Python module and script, from the installed (and moved) prefix only.
pydir=$(dirname "$(find "$prefix" -path '*/mif/__init__.py')")
export PYTHONPATH=$(dirname "$pydir")
unset MIF_API_LIBRARY || true
python3 - "$prefix" <<'PY' || fail "python module"
import errno, socket, sys
import mif
assert mif._lib._name.startswith(sys.argv[1]), mif._lib._name  # the installed library
assert mif.api_version() >> 16 == 0
try:
    mif.socket_set_pvd(-1, "wifi")
    raise SystemExit("no error for fd -1")
except mif.MifError as e:
    assert e.errno == errno.EBADF, e
with socket.socket(socket.AF_UNIX) as s:
    try:
        mif.socket_set_pvd(s, "wifi")
        raise SystemExit("no error for AF_UNIX")
    except OSError as e:
        assert e.errno == errno.EAFNOSUPPORT, e
with socket.socket() as s:
    try:
        mif.socket_set_pvd(s, "nosuchpvd")
        raise SystemExit("no error for an unknown PvD")
    except mif.MifError as e:
        assert e.errno == errno.ENOENT and "'nosuchpvd'" in e.strerror, e
# Numeric hosts are getaddrinfo's own: same shape as socket.getaddrinfo.
got = mif.getaddrinfo("nosuchpvd", "192.0.2.7", 80, type=socket.SOCK_STREAM)
assert got == socket.getaddrinfo("192.0.2.7", 80, type=socket.SOCK_STREAM), got
assert mif.process_get_pvd() == ""
assert all(p.health == "usable" for p in mif.pvd_list())  # health: inside mif run only
PY
st=0; python3 "$examples/fetch_each.py" >/dev/null 2>"$tmp/err" || st=$?
[ "$st" = 2 ] || fail "fetch_each.py: status $st: $(cat "$tmp/err")"
echo "examples/api: CMake, Makefile and Python builds against the installed prefix ran"
