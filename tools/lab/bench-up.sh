#!/usr/bin/env bash
# Bring-up and teardown time of built-in lab topologies: each brought up from nothing and
# torn down RUNS times; prints the medians. Needs root. Figures go to docs/lab.md.
#   tools/lab/bench-up.sh [MIF] [RUNS] [TOPOLOGY...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mif=${1:-${MIF_BUILD_DIR:-$root/build}/bin/mif}
runs=${2:-10}
shift $(( $# > 2 ? 2 : $# )) || true
topologies=("$@")
[ ${#topologies[@]} -gt 0 ] || topologies=(wifi-vpn overlap oneway captive onelink poorlink)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }

printf "%-10s %5s %12s %12s\n" topology runs "up (median)" "down (median)"
for topo in "${topologies[@]}"; do
  name="bench-$topo-$$"
  "$mif" lab down "$name" >/dev/null 2>&1 || true
  ups=() downs=()
  for _ in $(seq "$runs"); do
    t0=$(now); "$mif" lab up "$topo" --as "$name" --quiet; t1=$(now)
    "$mif" lab down "$name" >/dev/null; t2=$(now)
    ups+=("$(echo "$t1 - $t0" | bc)") downs+=("$(echo "$t2 - $t1" | bc)")
  done
  up=$(printf "%s\n" "${ups[@]}" | median)
  down=$(printf "%s\n" "${downs[@]}" | median)
  printf "%-10s %5d %11.3fs %11.3fs\n" "$topo" "$runs" "$up" "$down"
done
