#!/usr/bin/env python3
"""Tiny OAuth2 token-introspection stub for dovecot's oauth2 passdb (loopback only).

POST /introspect  (body: token=...)  -> RFC 7662 style {"active": true, "username": ...}
GET  /tokeninfo?access_token=...     -> same JSON
Tokens are static: ALICE_TOKEN -> alice. Anything else -> {"active": false}.
Stops by itself after $INTEROP_MAX_SECONDS (default 3600) so it can never linger.
"""
import json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKENS = {os.environ.get("ALICE_TOKEN", "alice-oauth-token"): "alice"}


class H(BaseHTTPRequestHandler):
    def _answer(self, token):
        user = TOKENS.get(token or "")
        body = {"active": True, "username": user, "email": user} if user else {"active": False}
        data = json.dumps(body).encode()
        self.send_response(200 if user else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _bearer(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(n).decode())
        self._answer((form.get("token") or [None])[0] or self._bearer())

    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        self._answer((q.get("access_token") or [None])[0] or self._bearer())

    def log_message(self, fmt, *args):
        sys.stderr.write("oauth-stub: " + (fmt % args) + "\n")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 14080
    max_s = float(os.environ.get("INTEROP_MAX_SECONDS", "3600"))
    srv = ThreadingHTTPServer(("127.0.0.1", port), H)
    t = threading.Timer(max_s, srv.shutdown)
    t.daemon = True
    t.start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
