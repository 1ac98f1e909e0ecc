#!/usr/bin/python3
"""Sends an IPv6 router advertisement out of one interface, as a router would: from the
interface's link-local address, hop limit 255, to all nodes (ff02::1), through a raw
ICMPv6 socket (the kernel fills in the checksum). Used by the tests of what mif learns
from router advertisements (RDNSS, DNSSL, captive portal, PREF64, lifetimes, the RFC 8801
PvD option).

  send_ra.py IFACE [--router-lifetime S] [OPTION]...
    rdnss=LIFETIME,ADDR        RFC 8106 RDNSS
    dnssl=LIFETIME,NAME        RFC 8106 DNSSL
    captive=URI                RFC 8910 captive portal
    pref64=LIFETIME,PREFIX/LEN RFC 8781 PREF64 (lifetime in seconds, a multiple of 8)
    pio=VALID,PREFERRED,PREFIX/LEN  RFC 4861 prefix information (L and A set)
    rio=LIFETIME,PREFIX/LEN    RFC 4191 route information
    mtu=N                      RFC 4861 MTU
    raw=HEX                    any bytes, as one option (malformed options)
    pvd=ID[,SEQ[,FLAGS]]       starts an RFC 8801 PvD option named ID (FLAGS: letters of
                               HLR; R adds an advertisement header with this one's router
                               lifetime); the options after it, up to `endpvd`, the next
                               `pvd=` or the end, are nested in it
  --answer SECONDS: also answer every router solicitation heard on IFACE for SECONDS
  --ready FILE: create FILE once the first advertisement is out and solicitations are
    heard (a test waits for it instead of sleeping)
  (then the advertisement goes to the solicitor), after the first one sent at once.
"""
import socket
import struct
import sys
import time

PLC = {96: 0, 64: 1, 56: 2, 48: 3, 40: 4, 32: 5}


def option(spec):
    kind, _, value = spec.partition("=")
    if kind == "rdnss":
        life, addr = value.split(",")
        return struct.pack("!BBHI", 25, 3, 0, int(life)) + socket.inet_pton(socket.AF_INET6, addr)
    if kind == "dnssl":
        life, name = value.split(",")
        wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
        body = struct.pack("!HI", 0, int(life)) + wire
        pad = (-(2 + len(body))) % 8
        return bytes([31, (2 + len(body) + pad) // 8]) + body + b"\0" * pad
    if kind == "captive":
        uri = value.encode()
        pad = (-(2 + len(uri))) % 8
        return bytes([37, (2 + len(uri) + pad) // 8]) + uri + b"\0" * pad
    if kind == "pref64":
        life, prefix = value.split(",")
        addr, length = prefix.split("/")
        scaled = int(life) // 8
        return struct.pack("!BBH", 38, 2, scaled << 3 | PLC[int(length)]) + \
            socket.inet_pton(socket.AF_INET6, addr)[:12]
    if kind == "pio":
        valid, preferred, prefix = value.split(",")
        addr, length = prefix.split("/")
        return struct.pack("!BBBBIII", 3, 4, int(length), 0xc0, int(valid), int(preferred), 0) + \
            socket.inet_pton(socket.AF_INET6, addr)
    if kind == "rio":
        life, prefix = value.split(",")
        addr, length = prefix.split("/")
        return struct.pack("!BBBBI", 24, 3, int(length), 0, int(life)) + \
            socket.inet_pton(socket.AF_INET6, addr)
    if kind == "mtu":
        return struct.pack("!BBHI", 5, 1, 0, int(value))
    if kind == "raw":
        return bytes.fromhex(value)
    sys.exit("send_ra.py: unknown option " + spec)


def wire_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"


def pvd_option(spec, nested, router_lifetime):
    """RFC 8801 3.1: type 21, length, H|L|R|reserved|delay, sequence, the PvD ID, zero
    padding to 8 octets, an advertisement header when R is set, the nested options."""
    parts = spec.split(",")
    pvd_id = parts[0]
    seq = int(parts[1]) if len(parts) > 1 else 0
    flags = parts[2] if len(parts) > 2 else ""
    word = (0x8000 if "H" in flags else 0) | (0x4000 if "L" in flags else 0) | \
        (0x2000 if "R" in flags else 0)
    body = struct.pack("!HH", word, seq) + wire_name(pvd_id)
    body += b"\0" * ((-(2 + len(body))) % 8)
    if "R" in flags:
        body += struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, router_lifetime, 0, 0)
    body += nested
    return bytes([21, (2 + len(body)) // 8]) + body


def main():
    args = sys.argv[1:]
    ifname = args.pop(0)
    router_lifetime, answer, opts, ready = 1800, 0.0, b"", None
    pvd, nested = None, b""
    while args:
        a = args.pop(0)
        if a == "--router-lifetime":
            router_lifetime = int(args.pop(0))
        elif a == "--answer":
            answer = float(args.pop(0))
        elif a == "--ready":
            ready = args.pop(0)
        elif a.startswith("pvd="):
            if pvd is not None:
                opts += pvd_option(pvd, nested, router_lifetime)
            pvd, nested = a[4:], b""
        elif a == "endpvd":
            opts += pvd_option(pvd, nested, router_lifetime)
            pvd = None
        elif pvd is not None:
            nested += option(a)
        else:
            opts += option(a)
    if pvd is not None:
        opts += pvd_option(pvd, nested, router_lifetime)
    idx = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, router_lifetime, 0, 0) + opts
    s.sendto(ra, ("ff02::1", 0, 0, idx))
    if ready is not None:
        open(ready, "w").close()
    end = time.monotonic() + answer
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            data, peer = s.recvfrom(1500)
        except socket.timeout:
            break
        if data and data[0] == 133:  # a router solicitation
            s.sendto(ra, ("ff02::1", 0, 0, idx))


if __name__ == "__main__":
    main()
