#!/usr/bin/env python3
"""Splits each bench_race client's time past the attempt delay, from `perf script` output
(race_timeline.sh): per client (thread) the program's stream connect, the hrtimer of the
race's last wait before the next attempt's connect, and what follows. Columns, in us:
  slack   the wait's hard expiry after its requested one (timer slack, ppoll's 0.1 %)
  late    the timer's expiry handler after the hard expiry (interrupt lateness)
  wake    the thread running after the handler woke it (scheduler)
  exit    ppoll's return to the library
  pre     the library's work up to the next attempt's connect (the spin, since kLeadUs)
  conn    that connect (a veth handshake runs inside it)
  post    the calls after it up to the program's last call before it prints
  over    the program's return after its connect + 250 ms, in ms
'start' is the wait's requested end after the program's connect, in ms (250 - kLeadUs
with the lead). A thread the trace lost events of is skipped."""
import re
import statistics as st
import sys

nr = {}
for line in open('/usr/include/x86_64-linux-gnu/asm/unistd_64.h'):
    m = re.match(r'#define __NR_(\w+) (\d+)', line)
    if m:
        nr[int(m.group(2))] = m.group(1)
ev_re = re.compile(r'\s*(\S.*?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)')
per = {}
timers = {}
for line in open(sys.argv[1]):
    m = ev_re.match(line)
    if not m:
        continue
    comm, _, tid, _, ts, ev, rest = m.groups()
    ts = float(ts)
    if ev == 'timer:hrtimer_start' and comm == 'bench_race':
        timers[re.search(r'hrtimer=(\S+)', rest).group(1)] = tid
    if ev == 'timer:hrtimer_expire_entry':
        a = re.search(r'hrtimer=(\S+)', rest).group(1)
        if a in timers and 'hrtimer_wakeup' in rest:
            per.setdefault(timers[a], []).append((ts, ev, rest))
        continue
    if ev == 'sched:sched_wakeup':
        per.setdefault(re.search(r' pid=(\d+)', rest).group(1), []).append((ts, ev, rest))
        continue
    if ev == 'sched:sched_switch':
        per.setdefault(re.search(r'next_pid=(\d+)', rest).group(1), []).append((ts, 'switch_in', rest))
    if comm != 'bench_race':
        continue
    if ev.startswith('raw_syscalls'):
        m2 = re.match(r'NR (\d+)', rest)
        rest = nr.get(int(m2.group(1)), '?') + rest[len(m2.group(0)):]
    per.setdefault(tid, []).append((ts, ev, rest))

rows = []
for tid, evs in per.items():
    evs.sort(key=lambda e: e[0])
    enters = [i for i, e in enumerate(evs) if e[1] == 'raw_syscalls:sys_enter']
    conns = [i for i in enters if evs[i][2].startswith('connect')]
    if len(conns) < 3:
        continue
    i0, ic = conns[1], conns[2]  # the program's stream connect; the next attempt's
    t0 = evs[i0][0]
    hs = [k for k in range(i0, ic) if evs[k][1] == 'timer:hrtimer_start']
    fx = [k for k in range(i0, ic) if evs[k][1] == 'timer:hrtimer_expire_entry']
    if not hs or not fx or fx[-1] < hs[-1]:
        continue
    h, f = evs[hs[-1]], evs[fx[-1]]
    soft = int(re.search(r'softexpires=(\d+)', h[2]).group(1))
    hard = int(re.search(r' expires=(\d+)', h[2]).group(1))
    off = f[0] - int(re.search(r'now=(\d+)', f[2]).group(1)) / 1e9  # perf clock - monotonic
    D, H, F = soft / 1e9 + off, hard / 1e9 + off, f[0]
    wk = [k for k in range(fx[-1], ic) if evs[k][1] == 'sched:sched_wakeup']
    si = [k for k in range(fx[-1], ic) if evs[k][1] == 'switch_in']
    px = [k for k in range(fx[-1], ic) if evs[k][1] == 'raw_syscalls:sys_exit']
    if not px:
        continue
    R = evs[si[0]][0] if si else (evs[wk[0]][0] if wk else F)
    X = evs[px[0]][0]
    C0 = evs[ic][0]
    c1 = [k for k in range(ic, len(evs)) if evs[k][1] == 'raw_syscalls:sys_exit']
    wr = [k for k in range(ic, len(evs)) if evs[k][1] == 'raw_syscalls:sys_enter'
          and evs[k][2].split()[0] in ('newfstatat', 'write')]
    if not c1 or not wr:
        continue
    ex = [k for k in range(ic, wr[0]) if evs[k][1] == 'raw_syscalls:sys_exit']
    E = evs[ex[-1]][0]
    calls = [evs[k][2].split()[0] for k in range(c1[0], wr[0]) if evs[k][1] == 'raw_syscalls:sys_enter']
    pre = [evs[k][2].split()[0] for k in range(px[0] + 1, ic) if evs[k][1] == 'raw_syscalls:sys_enter']
    desched = sum(1 for k in range(c1[0], wr[0]) if evs[k][1] == 'switch_in')
    rows.append(dict(start=(D - t0) * 1e3, slack=(H - D) * 1e6, late=(F - H) * 1e6, wake=(R - F) * 1e6,
                     exit=(X - R) * 1e6, pre=(C0 - X) * 1e6, conn=(evs[c1[0]][0] - C0) * 1e6,
                     post=(E - evs[c1[0]][0]) * 1e6, over=(E - t0) * 1e3 - 250,
                     calls=' '.join(pre) + ' | ' + ' '.join(calls) + (' (preempted)' if desched else '')))
keys = ['start', 'slack', 'late', 'wake', 'exit', 'pre', 'conn', 'post', 'over']
ms = ('start', 'over')
print('%-7s' % '' + ''.join('%9s' % k for k in keys) + '  calls before | after the connect')
for r in rows:
    print('%-7s' % '' + ''.join(('%9.3f' if k in ms else '%9.1f') % r[k] for k in keys) + '  ' + r['calls'])
if rows:
    print('%-7s' % 'median' + ''.join(('%9.3f' if k in ms else '%9.1f') % st.median(r[k] for r in rows) for k in keys))
