# Sourced by the callgrind benchmarks (udp_instructions.sh, connect_instructions.sh): two
# network namespaces of their own joined by a veth pair, the client's end mpbc 10.99.0.1
# in NS, the server's end mpbp 10.99.0.2 in NS-peer. Nothing outside them is touched.
#   veth_pair NS        build them; returns once mpbc is operationally UP
#   veth_pair_down NS   remove them (quietly, for an EXIT trap)
veth_pair() {
  local ns=$1
  ip netns add "$ns"
  ip netns add "$ns-peer"
  ip -n "$ns" link add mpbc type veth peer name mpbp
  ip -n "$ns" link set mpbp netns "$ns-peer"
  ip -n "$ns" addr add 10.99.0.1/24 dev mpbc
  ip -n "$ns-peer" addr add 10.99.0.2/24 dev mpbp
  ip -n "$ns" link set lo up
  ip -n "$ns" link set mpbc up
  ip -n "$ns-peer" link set mpbp up
  local _
  for _ in $(seq 100); do ip -n "$ns" link show mpbc | grep -q "state UP" && return 0; sleep 0.05; done
}

veth_pair_down() {
  ip netns del "$1" 2>/dev/null || true
  ip netns del "$1-peer" 2>/dev/null || true
}
