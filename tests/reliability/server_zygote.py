"""The central service, restartable in milliseconds: this process imports the server once; for
each line ``start`` on stdin it forks a child that serves ``fieldkit.server.app`` with uvicorn
on the given port (a real process the test can SIGKILL) and prints ``child <pid>``; it prints
``exit <pid> <status>`` when that child ends.

Usage: python server_zygote.py DB_URL PORT"""

from __future__ import annotations

import os
import sys
import threading

import uvicorn

from fieldkit.server.app import create_app
from fieldkit.server.settings import ServerSettings


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def serve(db_url: str, port: int) -> None:
    app = create_app(ServerSettings(db_url=db_url, log_requests=False))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")


def main() -> None:
    db_url, port = sys.argv[1], int(sys.argv[2])

    def reap(pid: int) -> None:
        _pid, status = os.waitpid(pid, 0)
        say(f"exit {pid} {status}")

    for line in sys.stdin:
        if line.strip() != "start":
            continue
        pid = os.fork()
        if pid == 0:
            try:
                serve(db_url, port)
            finally:
                os._exit(0)
        say(f"child {pid}")
        threading.Thread(target=reap, args=(pid,), daemon=True).start()


if __name__ == "__main__":
    main()
