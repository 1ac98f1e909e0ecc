#!/usr/bin/python3
"""A long-running client, as a program already running when the network changes: every
100 ms it connects to the lab service at ADDRESS (port 80), asks for "/" and prints one
line per attempt, flushed:

  MONOTONIC ok CLIENT        the service answered; CLIENT is the source it saw
  MONOTONIC error ERRNO      the attempt failed (ENETUNREACH, ETIMEDOUT, ...)

MONOTONIC is CLOCK_MONOTONIC in seconds when the attempt started (the clock the test
reads too). Runs until killed.

  connect_every.py ADDRESS
"""
import errno
import socket
import sys
import time


def attempt(address):
    with socket.create_connection((address, 80), timeout=0.5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    text = data.decode(errors="replace")
    at = text.find("client=")
    return text[at + 7:].split()[0] if at >= 0 else "?"


def main():
    address = sys.argv[1]
    while True:
        start = time.monotonic()
        try:
            line = "ok " + attempt(address)
        except OSError as e:
            line = "error " + (errno.errorcode.get(e.errno, "") if e.errno else type(e).__name__)
        print(f"{start:.3f} {line}", flush=True)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - start)))


if __name__ == "__main__":
    main()
