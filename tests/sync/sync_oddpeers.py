"""Real HTTP servers on loopback that are NOT a (healthy) fieldkit server: a captive portal,
a web page, a failing or garbled server, a silent one. What a laptop meets in the field."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Handler = Callable[[http.server.BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    answer: Handler
    requests: list[str]


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.server.requests.append(f"{self.command} {self.path}")
        status, headers, body = self.server.answer(self)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _handle
    do_POST = _handle

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def odd_peer(answer: Handler) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _RequestHandler)
    server.answer = answer
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url_of(server: _Server) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def captive_portal(_req: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    body = b"<html><body><h1>Welcome to Hotel Wi-Fi</h1>Please log in.</body></html>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, body


def redirecting_portal(
    _req: http.server.BaseHTTPRequestHandler,
) -> tuple[int, dict[str, str], bytes]:
    return 302, {"Location": "http://login.example/portal", "Content-Type": "text/html"}, b""


def server_error(_req: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    return 503, {"Content-Type": "text/plain", "Retry-After": "7"}, b"Service Unavailable"


def garbage_json(_req: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, b'{"status": "ok", "serv'


def other_json_api(_req: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, b'{"status": "ok", "service": "grafana"}'


def slow(seconds: float) -> Handler:
    def answer(_req: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        time.sleep(seconds)
        return 200, {"Content-Type": "application/json"}, b"{}"

    return answer
