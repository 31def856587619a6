"""A client that is killed many times, cheaply: this process imports fieldkit once, then for
each line ``go <iteration> <notes>`` on stdin forks a child that does what the app does - open
the profile (unlock), write notes (each confirmed on stdout once its transaction committed),
change the shared case's summary, sync - and exits. The test SIGKILLs the child at a random
instant; the next child is the app restarted. Lines on stdout (one writer at a time):

    child <pid>          a child started
    opened <pid>         it unlocked the profile
    wrote <note id>      a note is committed (the user saw it saved)
    synced <pid> <json>  a sync cycle finished
    fail <pid> <kind> <code>  an error ended the child (the test judges whether it is expected)
    exit <pid> <status>  the child ended (status as os.waitpid gives it)

Usage: python crash_zygote.py DATA_DIR CASE_ID SHARED_CASE_ID
"""

from __future__ import annotations

import json
import os
import sys

from fieldkit.security import SecurityPolicy
from fieldkit.services import cases, notes
from fieldkit.services.profile import open_session
from fieldkit.services.sync import sync_now

PASS = os.environ["FIELDKIT_PASSPHRASE"]
FAST = SecurityPolicy(argon2_target_seconds=0.01)


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def child(data_dir: str, case_id: str, shared_id: str, iteration: int, count: int) -> int:
    pid = os.getpid()
    try:
        session = open_session(data_dir, PASS, FAST)
    except Exception as exc:
        say(f"fail {pid} open:{type(exc).__name__} {getattr(exc, 'code', '')}")
        return 2
    say(f"opened {pid}")
    try:
        for n in range(count):
            entry = notes.add_note(
                session, case_id, f"Anteckning {iteration}.{n}: uppföljning.", sign=n % 2 == 0
            )
            say(f"wrote {entry.id}")
        if shared_id:
            cases.set_case_fields(session, shared_id, summary=f"Läget efter besök {iteration}.")
        report = sync_now(session)
        say(f"synced {pid} {json.dumps(report.to_dict())}")
    except Exception as exc:
        say(f"fail {pid} {type(exc).__name__} {getattr(exc, 'code', '')}")
        return 3
    finally:
        if not session.locked:
            session.lock()
    return 0


def main() -> None:
    data_dir, case_id, shared_id = sys.argv[1:4]
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] != "go":
            continue
        iteration, count = int(parts[1]), int(parts[2])
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = child(data_dir, case_id, shared_id, iteration, count)
            finally:
                os._exit(code)
        say(f"child {pid}")
        _pid, status = os.waitpid(pid, 0)
        say(f"exit {pid} {status}")


if __name__ == "__main__":
    main()
