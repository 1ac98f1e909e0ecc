# A firewall's REJECT without netfilter (the lab has no nft/iptables): run in a router's
# namespace, where a blackhole route keeps the SYNs from going any further, it answers each
# TCP SYN to one of the given destinations, seen on IFACE, with an ICMP error, as
# `REJECT --reject-with icmp-port-unreachable` (ICMPv6 port unreachable for IPv6) would.
# The client's connect then fails with ECONNREFUSED, the errno of a server's RST.
#   icmp_reject.py IFACE READY_FILE SECONDS DST...
# READY_FILE is created once the capture is open; the program exits after SECONDS.
import os, socket, struct, sys, time

iface, ready, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
targets = {socket.inet_pton(socket.AF_INET6 if ':' in a else socket.AF_INET, a) for a in sys.argv[4:]}

ETH_P_ALL = 3
cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
cap.bind((iface, 0))
icmp4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
open(ready, 'w').close()


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def is_syn(tcp):
    return len(tcp) >= 14 and (tcp[13] & 0x12) == 0x02  # SYN without ACK


end = time.monotonic() + seconds
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    cap.settimeout(left)
    try:
        pkt, addr = cap.recvfrom(65535)
    except socket.timeout:
        break
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    version = pkt[0] >> 4
    if version == 4 and len(pkt) >= 20:
        ihl = (pkt[0] & 15) * 4
        if pkt[9] != socket.IPPROTO_TCP or pkt[16:20] not in targets or not is_syn(pkt[ihl:]):
            continue
        quoted = pkt[:ihl + 8]
        msg = struct.pack('!BBHI', 3, 3, 0, 0) + quoted  # destination unreachable, port
        msg = msg[:2] + struct.pack('!H', checksum(msg)) + msg[4:]
        icmp4.sendto(msg, (socket.inet_ntop(socket.AF_INET, pkt[12:16]), 0))
    elif version == 6 and len(pkt) >= 40:
        if pkt[6] != socket.IPPROTO_TCP or pkt[24:40] not in targets or not is_syn(pkt[40:]):
            continue
        msg = struct.pack('!BBHI', 1, 4, 0, 0) + pkt[:40 + 8]  # port unreachable
        icmp6.sendto(msg, (socket.inet_ntop(socket.AF_INET6, pkt[8:24]), 0))
