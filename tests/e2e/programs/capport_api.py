#!/usr/bin/python3
"""A captive portal's API (RFC 8908) for the tests: answers every GET with
application/captive+json whose "captive" member is false once FLAG exists, true before.

  capport_api.py ADDRESS PORT FLAG
"""
import http.server
import os
import socketserver
import sys

ADDRESS, PORT, FLAG = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        captive = "false" if os.path.exists(FLAG) else "true"
        body = ('{"captive": %s, "user-portal-url": "http://%s:%d/portal"}'
                % (captive, ADDRESS, PORT)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/captive+json")
        self.send_header("Cache-Control", "private")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.HTTPServer):
    # HTTPServer's own server_bind asks the resolver for the host's name (getfqdn) before
    # it listens: seconds in a namespace whose resolver is unreachable.
    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = ADDRESS, PORT


Server((ADDRESS, PORT), Api).serve_forever()
