"""A small TCP proxy between a laptop and the server that misbehaves on purpose: drops
connections, cuts answers half-way, delays traffic, or answers for the server with a 503 or
garbage. Each new connection asks ``mode()`` what to do with it."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable

FORWARD = "forward"
DROP = "drop"  # accept, then close at once (connection reset / empty reply)
CUT = "cut"  # forward the request, cut the answer after a few bytes
DELAY = "delay"  # forward, slowly
HTTP_503 = "503"  # answer for the server: Service Unavailable (a load balancer without backend)
GARBAGE = "garbage"  # answer 200 with JSON that breaks off

RESPONSES = {
    HTTP_503: b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n"
    b"Content-Length: 19\r\nConnection: close\r\n\r\n<h1>Try later</h1>\n",
    GARBAGE: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 22\r\n"
    b'Connection: close\r\n\r\n{"status": "ok", "serv',
}


class ChaosProxy:
    def __init__(
        self,
        upstream_port: int,
        mode: Callable[[], str] | str = FORWARD,
        *,
        max_lifetime: float | None = None,
    ) -> None:
        """``max_lifetime``: close every connection after a random time up to this many
        seconds (clients keep connections alive; this makes them meet the chaos again)."""
        self.upstream = ("127.0.0.1", upstream_port)
        self.max_lifetime = max_lifetime
        self.mode: Callable[[], str] = (lambda: mode) if isinstance(mode, str) else mode
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.connections: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: Callable[[], str] | str) -> None:
        self.mode = (lambda: mode) if isinstance(mode, str) else mode

    def start(self) -> ChaosProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            mode = self.mode()
            with self._lock:
                self.connections[mode] = self.connections.get(mode, 0) + 1
            threading.Thread(target=self._handle, args=(client, mode), daemon=True).start()

    def _handle(self, client: socket.socket, mode: str) -> None:
        with contextlib.ExitStack() as stack:
            stack.callback(_close, client)
            if mode == DROP:
                client.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                return
            if mode in RESPONSES:
                client.settimeout(2)
                with contextlib.suppress(OSError):
                    client.recv(65536)
                    client.sendall(RESPONSES[mode])
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                return
            stack.callback(_close, upstream)
            delay = 0.05 if mode == DELAY else 0.0
            budget = random.randint(1, 400) if mode == CUT else None
            done = threading.Event()
            if self.max_lifetime:
                timer = threading.Timer(random.uniform(0.01, self.max_lifetime), done.set)
                timer.daemon = True
                timer.start()
                stack.callback(timer.cancel)
            up = threading.Thread(
                target=_pump, args=(client, upstream, done, delay, None), daemon=True
            )
            up.start()
            _pump(upstream, client, done, delay, budget)
            done.set()
            up.join(2)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _pump(
    src: socket.socket,
    dst: socket.socket,
    done: threading.Event,
    delay: float,
    budget: int | None,
) -> None:
    src.settimeout(0.02)
    while not done.is_set():
        try:
            data = src.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not data:
            break
        if delay:
            time.sleep(delay)
        if budget is not None:
            data = data[:budget]
            budget -= len(data)
        try:
            dst.sendall(data)
        except OSError:
            break
        if budget is not None and budget <= 0:
            break
    done.set()
