#!/usr/bin/env bash
# Where a race's time past the attempt delay goes (issue 30's figure, docs/performance.md
# "Where the time past the delay goes"): on a `oneway` lab of its own (`racetl`), Wi-Fi's
# router a blackhole for svc.cell.example as in bench_race, N clients of bench_race's client
# mode (one connect each, blocking or O_NONBLOCK + poll) run under
# `mif run --pvd wifi --pvd cell` while `perf record -a` takes the kernel's system-call,
# scheduler and hrtimer tracepoints; race_timeline.py then splits each client's time from
# the end of the delay to the program's return: the timer's slack and lateness, the wake-up,
# the race's calls before the next attempt's connect, that connect (on a veth the whole
# handshake runs inside it), and the calls after it. Needs root and perf. Tracing adds
# about 1 us per system call: compare runs of this script with each other, not with bench_race.
#   tests/bench/race_timeline.sh [BUILD_DIR] [block|nonblock] [CLIENTS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-${MIF_BUILD_DIR:-$root/build}}
mode=${2:-block}
n=${3:-10}
command -v perf >/dev/null || { echo "race_timeline.sh: needs perf" >&2; exit 2; }
lab=racetl
work=$(mktemp -d /tmp/mif-racetl.XXXXXX)
cleanup() {
  "$b/bin/mif" lab down "$lab" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$b/bin/mif" lab up oneway --as "$lab" >/dev/null
fact() { "$b/bin/mif" lab facts "$lab" | sed -n "s/^$1=//p"; }
node=$(fact ns.node)
svc=$(fact host.cellsvc.addr4)
ip -n "$(fact ns.router.wifi)" route add blackhole "$svc/32"
printf '[pvd.wifi]\ninterface = "%s"\n[pvd.cell]\ninterface = "%s"\n[failover]\nattempt_delay_ms = 250\n' \
  "$(fact pvd.wifi.link)" "$(fact pvd.cell.link)" >"$work/policy.toml"
cat >"$work/clients.sh" <<EOS
#!/bin/sh
for i in \$(seq $n); do
  ip netns exec $node $b/bin/mif run --policy $work/policy.toml --pvd wifi --pvd cell -- \
    $b/bin/bench_race --client $svc $mode
done
EOS
chmod +x "$work/clients.sh"
echo "race_timeline.sh: $n clients, $mode, $(uptime | sed 's/.*load/load/')"
perf record -q -a -o "$work/perf.data" \
  -e raw_syscalls:sys_enter,raw_syscalls:sys_exit,sched:sched_switch,sched:sched_wakeup,timer:hrtimer_expire_entry,timer:hrtimer_start \
  --exclude-perf -- "$work/clients.sh" | tr '\n' ' '
echo "(us, each client's own clock)"
perf script -i "$work/perf.data" --ns -F comm,pid,tid,cpu,time,event,trace 2>/dev/null >"$work/perf.txt"
/usr/bin/python3 "$root/tests/bench/race_timeline.py" "$work/perf.txt"
