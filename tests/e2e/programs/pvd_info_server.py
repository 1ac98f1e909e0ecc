#!/usr/bin/python3
"""Serves the PvD Additional Information (RFC 8801 section 4) over HTTPS, as a PvD's
server would: GET /.well-known/pvd answers the current content of DOC (read at each
request, so that a test can change it) as application/pvd+json; anything else is 404.
While DOC.status exists, /.well-known/pvd answers the status it holds instead (e.g.
"404", or "302 https://svc.b.example/moved/pvd": a redirect there); /moved/pvd answers
DOC too.

  pvd_info_server.py ADDR PORT CERT KEY DOC LOG

Each request is appended to LOG ("CLIENT-ADDRESS PATH", flushed before the answer) so that
a test sees which requests arrived and from where. Prints "ready" once it listens.
"""
import http.server
import socket
import ssl
import sys


class Server(http.server.HTTPServer):
    address_family = socket.AF_INET6


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[6], "a") as log:
            log.write("%s %s\n" % (self.client_address[0], self.path))
        if self.path not in ("/.well-known/pvd", "/moved/pvd"):
            self.send_error(404)
            return
        try:
            with open(sys.argv[5] + ".status") as f:
                status = f.read().split()
        except FileNotFoundError:
            status = []
        if status and self.path == "/.well-known/pvd":
            self.send_response(int(status[0]))
            if len(status) > 1:
                self.send_header("Location", status[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(sys.argv[5], "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/pvd+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    server = Server((addr, port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
