#!/usr/bin/env bash
# User-space instructions per datagram of an unconnected UDP sender under a strict pin,
# bare and under `mif run --pvd IF --strict`, counted by callgrind: a figure that the
# host's load does not move (bench_socket's wall and CPU ratios do, by more than mif's
# share of a datagram on this shared 2-core machine). Needs root and valgrind. Builds two
# namespaces of its own (a veth pair, 10.99.0.1 -> 10.99.0.2) and removes them.
#   tests/bench/udp_instructions.sh [BUILD_DIR] [DATAGRAMS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-${MIF_BUILD_DIR:-$root/build}}
# shellcheck source=veth_pair.sh
. "$root/tests/bench/veth_pair.sh"
n=${2:-20000}
command -v valgrind >/dev/null || { echo "udp_instructions.sh: needs valgrind" >&2; exit 2; }
ns=mif-udpins-$$
work=$(mktemp -d /tmp/mif-udpins.XXXXXX)
cleanup() { veth_pair_down "$ns"; rm -rf "$work"; }
trap cleanup EXIT
veth_pair "$ns"

# Total user-space instructions of one client run (WAY: bare or mif, COUNT datagrams).
count() {
  local way=$1 k=$2 out=$work/$1.$2
  local client=("$b/bin/bench_socket" --udp 10.99.0.2 9 "$k")
  local vg=(valgrind --tool=callgrind --callgrind-out-file="$out")
  if [ "$way" = mif ]; then
    ip netns exec "$ns" "$b/bin/mif" run --pvd mpbc --strict -- "${vg[@]}" "${client[@]}" >/dev/null 2>&1
  else
    ip netns exec "$ns" "${vg[@]}" "${client[@]}" >/dev/null 2>&1
  fi
  sed -n 's/^summary: //p' "$out"
}
# The difference between N datagrams and 1 leaves out start-up (loading, the first
# decision, the view's dump).
bare=$(( ($(count bare "$n") - $(count bare 1)) ))
mif=$(( ($(count mif "$n") - $(count mif 1)) ))
awk -v b="$bare" -v m="$mif" -v n="$n" 'BEGIN {
  printf "user-space instructions per datagram (%d datagrams): bare %.0f, mif %.0f, mif adds %.0f\n",
         n, b / (n - 1), m / (n - 1), (m - b) / (n - 1) }'
