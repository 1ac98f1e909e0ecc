#!/usr/bin/env python3
"""fetch_each.py: fetches one http:// URL once through each PvD, with the mif Python
module (a ctypes binding of <mif/mif.h>; docs/api.md), with or without `mif run`.

    fetch_each.py URL [PVD...]    each PvD named, or every usable PvD of the live view

Prints one line per PvD: "PVD ADDRESS SOURCE STATUS-LINE"; exit status 0 when every fetch
succeeded, 1 otherwise (the reason on stderr names the PvD), 2 on bad arguments.
"""
import socket
import sys
import urllib.parse

import mif


def fetch(url, pvd):
    host, port = url.hostname, url.port or 80
    try:
        answers = mif.getaddrinfo(pvd, host, port, type=socket.SOCK_STREAM)
    except (OSError, socket.gaierror) as e:
        print("fetch_each.py: %s: %s" % (pvd, e.strerror), file=sys.stderr)
        return False
    for family, type_, proto, _, addr in answers:
        with socket.socket(family, type_, proto) as s:
            try:
                mif.socket_set_pvd(s, pvd)
            except mif.MifError as e:
                print("fetch_each.py: %s" % e.strerror, file=sys.stderr)
                return False
            s.settimeout(5)
            try:
                s.connect(addr)
                source = s.getsockname()[0]
                path = url.path or "/"
                s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n"
                           % (path, host)).encode())
                status = s.recv(512).split(b"\r\n", 1)[0].decode(errors="replace")
            except OSError as e:
                print("fetch_each.py: %s: %s: %s" % (pvd, addr[0], e), file=sys.stderr)
                continue
            if not status:
                continue
            print(pvd, addr[0], source, status)
            return True
    return False


def main(argv):
    if len(argv) < 2 or not argv[1].startswith("http://"):
        print("usage: fetch_each.py http://HOST[:PORT][/PATH] [PVD...]", file=sys.stderr)
        return 2
    url = urllib.parse.urlsplit(argv[1])
    pvds = argv[2:] or [p.name for p in mif.pvd_list() if p.usable]
    if not pvds:
        print("fetch_each.py: no usable PvD", file=sys.stderr)
        return 1
    ok = [fetch(url, p) for p in pvds]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
