# A DNS server that answers every A query for any name with ADDRESS after a delay drawn
# per query between MIN and MAX seconds (TTL 0, so nothing is cached), and every other
# query with an empty NOERROR answer. Usage: slow_dns.py ADDRESS MIN MAX (UDP port 53).
import random
import socket
import struct
import sys
import threading

address, lo, hi = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("0.0.0.0", 53))


def answer(query, peer):
    threading.Event().wait(random.uniform(lo, hi))
    ident, flags, qd = struct.unpack("!HHH", query[:6])
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    question = query[12:end + 5]
    qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
    records = b""
    count = 0
    if qtype == 1:
        records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + socket.inet_aton(address)
        count = 1
    header = struct.pack("!HHHHHH", ident, 0x8180 | (flags & 0x0100), 1, count, 0, 0)
    try:
        sock.sendto(header + question + records, peer)
    except OSError:
        pass  # the link went away meanwhile: the client will time out


while True:
    data, peer = sock.recvfrom(512)
    if len(data) > 12:
        threading.Thread(target=answer, args=(data, peer), daemon=True).start()
