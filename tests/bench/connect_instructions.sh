#!/usr/bin/env bash
# User-space instructions per TCP connect (connect + close, the server accepting and
# closing) under the pinning floor (bench_socket's shim: SO_BINDTODEVICE +
# IP_BIND_ADDRESS_NO_PORT + bind by hand) and under `mif run --pvd IF`, counted by
# callgrind, with the system calls of each per connect (strace -c): figures the host's load
# does not move, beside bench_socket's connect ratios, which it does; and under `mif run
# --pvd mpbc --pvd mpbc2` (`list`: a list of two PvDs whose first works, the race armed
# around each blocking connect; mpbc2 a second veth pair, 10.98.0.1), and the same list
# with curl's order (`curl`: fcntl(F_SETFL, O_NONBLOCK) after socket(), the connect waited
# for with poll: bench_socket's MIF_BENCH_NONBLOCK). Needs root, valgrind
# and strace. Builds two namespaces of its own (a veth pair, 10.99.0.1 -> 10.99.0.2, a
# python accept loop on 10.99.0.2:7777) and removes them.
#   tests/bench/connect_instructions.sh [BUILD_DIR] [CONNECTS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-${MIF_BUILD_DIR:-$root/build}}
# shellcheck source=veth_pair.sh
. "$root/tests/bench/veth_pair.sh"
n=${2:-3000}
for t in valgrind strace; do
  command -v $t >/dev/null || { echo "connect_instructions.sh: needs $t" >&2; exit 2; }
done
ns=mif-connins-$$
work=$(mktemp -d /tmp/mif-connins.XXXXXX)
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  veth_pair_down "$ns"
  rm -rf "$work"
}
trap cleanup EXIT
veth_pair "$ns"
ip -n "$ns" link add mpbc2 type veth peer name mpbp2
ip -n "$ns" link set mpbp2 netns "$ns-peer"
ip -n "$ns" addr add 10.98.0.1/24 dev mpbc2
ip -n "$ns-peer" addr add 10.98.0.2/24 dev mpbp2
ip -n "$ns" link set mpbc2 up
ip -n "$ns-peer" link set mpbp2 up
for _ in $(seq 100); do ip -n "$ns" link show mpbc2 | grep -q "state UP" && break; sleep 0.05; done
ip netns exec "$ns-peer" /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", 7777)); s.listen(512)
while True:
    c, _ = s.accept(); c.close()' &
srv=$!
sleep 0.5

shim=(env LD_PRELOAD="$b/tests/bench/libbench_socket_shim.so" MIF_SHIM_DEV=mpbc MIF_SHIM_SRC=10.99.0.1)
mif=("$b/bin/mif" run --pvd mpbc --)
list=("$b/bin/mif" run --pvd mpbc --pvd mpbc2 --)
curl=(env MIF_BENCH_NONBLOCK=1 "$b/bin/mif" run --pvd mpbc --pvd mpbc2 --)
client=("$b/bin/bench_socket" --client 10.99.0.2 7777)
# Instructions of one client run (WAY shim|mif, K connects after bench_socket's 500 warm-up).
count() {
  local -n way=$1
  local out=$work/$1.$2
  ip netns exec "$ns" "${way[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" \
    "${client[@]}" "$2" >/dev/null 2>&1
  sed -n 's/^summary: //p' "$out"
}
# The difference between N connects and 1 leaves out start-up and the warm-up.
s=$(( $(count shim "$n") - $(count shim 1) ))
m=$(( $(count mif "$n") - $(count mif 1) ))
l=$(( $(count list "$n") - $(count list 1) ))
c=$(( $(count curl "$n") - $(count curl 1) ))
awk -v s="$s" -v m="$m" -v l="$l" -v c="$c" -v n="$n" 'BEGIN {
  printf "user-space instructions per connect (%d connects): shim %.0f, mif %.0f, list %.0f, curl %.0f\n",
         n, s / (n - 1), m / (n - 1), l / (n - 1), c / (n - 1) }'
# System calls per connect, 200 connects (plus the warm-up's 500).
for w in shim mif list curl; do
  declare -n way=$w
  ip netns exec "$ns" "${way[@]}" strace -f -c -o "$work/$w.strace" "${client[@]}" 200 >/dev/null 2>&1
  printf '%s system calls per connect:' "$w"
  awk 'NR > 2 && $NF != "total" && $(NF-1) ~ /^[0-9]+$/ && $(NF-1) >= 600 {
         printf " %s %.1f", $NF, $(NF-1) / 700 }
       NR > 2 && $NF != "total" && $(NF-2) ~ /^[0-9]+$/ && $(NF-2) >= 600 && $(NF-1) ~ /^[0-9]+$/ {
         printf " %s %.1f", $NF, $(NF-2) / 700 }' "$work/$w.strace"
  echo
done
