#!/usr/bin/env bash
# The Debian package, as a user gets it: built with CPack from this (already built) tree,
# installed with dpkg into a fresh root of its own (maintainer scripts included, run in a
# chroot whose /bin/sh is busybox), and the installed mif run from there: `mif check` on
# the shipped /etc/mif/policy.toml and `mif run --pvd lo -- true`, which must find its
# preload libraries relative to itself. Then `dpkg -r` leaves only the conffile and
# `dpkg -P` removes that too. Needs root (dpkg chroots to run maintainer scripts).
# Usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (dpkg --root chroots into the test root)"; exit 77; fi
for tool in cpack dpkg dpkg-deb busybox; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

tmp=$(mktemp -d /tmp/mif-package-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# 1. Build the package (no rebuild: the tree is built before ctest runs).
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; }
debs=("$tmp"/out/mif_*.deb)
[ -f "${debs[0]}" ] || fail "no mif_*.deb in $tmp/out"
deb=${debs[0]}
echo "built $(basename "$deb")"

# 2. Its control data: a description, Depends from dpkg-shlibdeps (each satisfiable on
#    this machine), the conffile, and nothing outside the FHS.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = mif ] || fail "Package is '$(field Package)'"
desc=$(field Description)
[ "$(printf '%s\n' "$desc" | wc -l)" -ge 3 ] || fail "no extended Description"
depends=$(field Depends)
echo "Depends: $depends"
printf '%s\n' "$depends" | grep -q 'libc6 (>= ' || fail "Depends lacks a versioned libc6 (dpkg-shlibdeps)"
printf '%s\n' "$depends" | grep -q 'libseccomp2' || fail "Depends lacks libseccomp2 (dpkg-shlibdeps)"
IFS=',' read -ra deps <<<"$depends"
for d in "${deps[@]}"; do
  pkg=$(echo "$d" | sed 's/^ *//; s/[ (].*//')
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
    fail "Depends names $pkg, which is not installed here"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$tmp/conffiles"
[ "$(cat "$tmp/conffiles")" = /etc/mif/policy.toml ] || fail "conffiles: $(cat "$tmp/conffiles")"
dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/files"
while read -r f; do
  case $f in
    ./ | ./etc/ | ./etc/mif/ | ./etc/mif/policy.toml) ;;
    ./usr/ | ./usr/bin/ | ./usr/bin/mif) ;;
    ./usr/lib/ | ./usr/lib/mif/* | ./usr/lib/*-linux-gnu*/ | ./usr/lib/*-linux-gnu*/mif/*) ;;
    # The C API (docs/api.md): library, header, pkg-config and CMake package.
    ./usr/include/ | ./usr/include/mif/ | ./usr/include/mif/mif.h) ;;
    ./usr/lib/*libmif-api.so* | ./usr/lib/pkgconfig/ | ./usr/lib/*/pkgconfig/) ;;
    ./usr/lib/pkgconfig/mif.pc | ./usr/lib/*/pkgconfig/mif.pc) ;;
    ./usr/lib/cmake/ | ./usr/lib/*/cmake/ | ./usr/lib/cmake/mif/* | ./usr/lib/*/cmake/mif/*) ;;
    # Its Python module (ctypes), where Debian's python3 looks.
    ./usr/lib/python3/ | ./usr/lib/python3/dist-packages/ | ./usr/lib/python3/dist-packages/mif/*) ;;
    ./usr/share/ | ./usr/share/mif/* | ./usr/share/doc/ | ./usr/share/doc/mif/*) ;;
    ./usr/share/man/* | ./usr/share/bash-completion/* | ./usr/share/zsh/*) ;;
    # `mif discover` as a service (docs/discovery.md).
    ./usr/lib/systemd/ | ./usr/lib/systemd/system/ | ./usr/lib/systemd/system/mif-discover.service) ;;
    *) fail "file outside mif's FHS places: $f" ;;
  esac
done <"$tmp/files"
grep -qx './usr/bin/mif' "$tmp/files" || fail "no /usr/bin/mif"
grep -q '/mif/libmif.so$' "$tmp/files" || fail "no libmif.so"
grep -q '/mif/libmif-engine.so$' "$tmp/files" || fail "no libmif-engine.so"
grep -q '/libmif-api.so.0$' "$tmp/files" || fail "no libmif-api.so.0"
grep -qx './usr/include/mif/mif.h' "$tmp/files" || fail "no mif/mif.h"
grep -qx './usr/lib/python3/dist-packages/mif/__init__.py' "$tmp/files" || fail "no Python module mif"
grep -qx './usr/share/doc/mif/examples/api/fetch_each.c' "$tmp/files" || fail "no examples/api"
grep -qx './usr/lib/systemd/system/mif-discover.service' "$tmp/files" || fail "no mif-discover.service"
# The listener's unit: the installed binary, exactly CAP_NET_RAW and CAP_NET_ADMIN.
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/mif-discover.service >"$tmp/unit"
grep -qx 'ExecStart=/usr/bin/mif discover' "$tmp/unit" || fail "mif-discover.service: ExecStart"
grep -qx 'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN' "$tmp/unit" || fail "mif-discover.service: bounding set"
grep -qx 'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' "$tmp/unit" || fail "mif-discover.service: ambient set"
[ "$(grep -c '^[A-Za-z]*Capabilit' "$tmp/unit")" = 2 ] || fail "mif-discover.service: other capability lines"
grep -qx './usr/share/man/man1/mif.1.gz' "$tmp/files" || fail "no mif(1)"
grep -qx './usr/share/man/man5/mif-policy.5.gz' "$tmp/files" || fail "no mif-policy(5)"
grep -qx './usr/share/bash-completion/completions/mif' "$tmp/files" || fail "no bash completion"
grep -qx './usr/share/zsh/vendor-completions/_mif' "$tmp/files" || fail "no zsh completion"

# 3. Install it into a fresh root: an empty dpkg database, and /bin/sh (busybox) and a
#    no-op ldconfig for the maintainer scripts dpkg runs there. The libraries mif needs
#    (Depends) are the host's, so --force-depends.
root=$tmp/root
mkdir -p "$root"/var/lib/dpkg/{info,updates,triggers} "$root"/bin "$root"/usr/sbin "$root"/tmp
touch "$root/var/lib/dpkg/status"
cp "$(command -v busybox)" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
printf '#!/bin/sh\nexit 0\n' >"$root/usr/sbin/ldconfig"
chmod 755 "$root/usr/sbin/ldconfig"
dpkg --root="$root" --force-depends -i "$deb" >"$tmp/dpkg.log" 2>&1 ||
  { cat "$tmp/dpkg.log" >&2; fail "dpkg --root -i"; }
dpkg --root="$root" -s mif | grep -q '^Status: install ok installed' || fail "not installed"
dpkg --root="$root" -s mif | grep -q '^ /etc/mif/policy.toml ' || fail "conffile not registered"

# 4. The installed mif, run from the root (not from the build tree).
mif=$root/usr/bin/mif
"$mif" --help >/dev/null || fail "mif --help"
"$mif" check --layer system "$root/etc/mif/policy.toml" || fail "mif check on the shipped policy"
# The shipped policy defines nothing: no PvD, no rule, no [default].
"$mif" explain --system-policy "$root/etc/mif/policy.toml" --user-policy "" 192.0.2.1:80 \
  >"$tmp/explain.out" 2>&1 || { cat "$tmp/explain.out" >&2; fail "mif explain"; }
grep -q 'nothing matched' "$tmp/explain.out" || { cat "$tmp/explain.out" >&2; fail "the shipped policy decides something"; }
"$mif" run --pvd lo -- true || fail "mif run --pvd lo -- true"
maps=$("$mif" run --pvd lo -- sh -c 'cat /proc/$$/maps')
printf '%s\n' "$maps" | grep -q "$root/usr/lib/.*mif/libmif.so" ||
  fail "the installed mif did not preload its own libmif.so"

# The Python module loads the package's own libmif-api.so.0 (relative to where it is).
PYTHONPATH=$root/usr/lib/python3/dist-packages python3 -c "
import mif, sys
assert mif._lib._name.startswith('$root/usr/lib/'), mif._lib._name
assert mif.api_version() >> 16 == 0" || fail "python3 -c 'import mif' from the package"

# 5. Remove: everything but the conffile goes; purge removes that too.
dpkg --root="$root" -r mif >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -r"; }
left=$(cd "$root" && find etc usr -type f 2>/dev/null | grep -v '^usr/sbin/ldconfig$' || true)
[ "$left" = etc/mif/policy.toml ] || fail "after dpkg -r, left: $left"
dpkg --root="$root" -P mif >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -P"; }
[ ! -e "$root/etc/mif/policy.toml" ] || fail "dpkg -P left /etc/mif/policy.toml"
echo "PASS"
