#!/usr/bin/env bash
# Where bench_socket's connect ratio moves from (docs/performance.md, "Connect against the
# pinning floor, placement"): one client process per line, so the spread between processes
# of the same code shows. The ways: none, shim (the pinning floor), mif, mif again (the same
# code: the run's own noise), and mif under `setarch -R` (no address-space randomisation:
# every process the same layout), in ROUNDS rounds, the order rotated, N iterations each.
# PLACE says where the client and the server run: "free" (the scheduler decides), "same"
# (both on the last CPU), "cross" (client on the first, server on the last). Prints each
# process's wall and CPU us/iteration, then per way the median and 10th-90th percentiles,
# and the median of per-round ratios. Needs root; builds two namespaces of its own (a veth
# pair, 10.99.0.1 -> 10.99.0.2, bench_socket --server on 10.99.0.2:7777) and removes them.
#   tests/bench/connect_placement.sh [BUILD_DIR] [ROUNDS] [N] [PLACE]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-${MIF_BUILD_DIR:-$root/build}}
rounds=${2:-16}
n=${3:-3000}
place=${4:-free}
# shellcheck source=veth_pair.sh
. "$root/tests/bench/veth_pair.sh"
ns=mif-place-$$
work=$(mktemp -d /tmp/mif-place.XXXXXX)
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null
  veth_pair_down "$ns"
  rm -rf "$work"
}
trap cleanup EXIT
veth_pair "$ns"
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range='1024 65000'
last=$(( $(nproc) - 1 ))
case $place in
  free) cl=(); sv=() ;;
  same) cl=(taskset -c "$last"); sv=(taskset -c "$last") ;;
  cross) cl=(taskset -c 0); sv=(taskset -c "$last") ;;
  *) echo "connect_placement.sh: PLACE is free, same or cross" >&2; exit 2 ;;
esac
ip netns exec "$ns-peer" ${sv[@]+"${sv[@]}"} "$b/bin/bench_socket" --server 10.99.0.2 7777 &
srv=$!
sleep 0.5
client=("$b/bin/bench_socket" --client 10.99.0.2 7777 "$n")
shim=(env LD_PRELOAD="$b/tests/bench/libbench_socket_shim.so" MIF_SHIM_DEV=mpbc MIF_SHIM_SRC=10.99.0.1)
ways=(none shim mif mif-again mif-norandom)
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < ${#ways[@]}; i++)); do
    w=${ways[$(((i + r) % ${#ways[@]}))]}
    case $w in
      none) cmd=("${client[@]}") ;;
      shim) cmd=("${shim[@]}" "${client[@]}") ;;
      mif | mif-again) cmd=("$b/bin/mif" run --pvd mpbc -- "${client[@]}") ;;
      mif-norandom) cmd=(setarch "$(uname -m)" -R "$b/bin/mif" run --pvd mpbc -- "${client[@]}") ;;
    esac
    echo "$r $w $(ip netns exec "$ns" ${cl[@]+"${cl[@]}"} "${cmd[@]}")"
  done
done | tee "$work/runs"
/usr/bin/python3 - "$work/runs" "$n" <<'PY'
import sys, statistics as st
n = int(sys.argv[2]); by = {}
for line in open(sys.argv[1]):
    r, w, wall, cpu = line.split()
    by.setdefault(w, {})[int(r)] = (int(wall) / n / 1e3, int(cpu) / n / 1e3)
def q(v, p): v = sorted(v); return v[int(p * (len(v) - 1))]
for w, runs in by.items():
    for k, what in ((0, "wall"), (1, "cpu")):
        v = [x[k] for x in runs.values()]
        print(f"{w:13} {what:4} us/iteration median {st.median(v):7.2f}  10th-90th {q(v, .1):7.2f}-{q(v, .9):7.2f}")
for a, b in (("mif", "shim"), ("shim", "none"), ("mif-again", "mif"), ("mif-norandom", "mif")):
    for k, what in ((0, "wall"), (1, "cpu")):
        v = [by[a][r][k] / by[b][r][k] for r in by[a] if r in by[b]]
        print(f"{a}/{b} {what}: median of per-round ratios {st.median(v):.3f} (10th-90th {q(v, .1):.3f}-{q(v, .9):.3f})")
PY
