"""Stress: the app's hot paths must not drain the reference counts of None/True/False.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/stress_refcounts.py [KEYS]

Types KEYS characters into a note editor with the app's auto-lock filter (IdleWatcher)
installed on the whole application, while a worker thread posts results to the GUI thread
through the task manager's mailbox, as the DB worker and the sync scheduler do during a sync.
Prints one JSON line: how much the counts of None, True and False changed.

With PySide6 6.12.0 on Python 3.11 this aborts with "Fatal Python error: none_dealloc" (or
"bool_dealloc") within a few thousand keys: the crash seen in the team-size GUI benchmark.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(keys: int) -> dict[str, int]:
    from PySide6.QtTest import QTest

    from fieldkit.ui.qt import QApplication, QPlainTextEdit
    from fieldkit.ui.shell.idle import IdleWatcher
    from fieldkit.ui.taskman import Mailbox

    app = QApplication.instance() or QApplication([])
    watcher = IdleWatcher(60_000)
    app.installEventFilter(watcher)
    watcher.start()
    editor = QPlainTextEdit()
    editor.show()
    mailbox = Mailbox()
    delivered = [0]

    def arrive(_value: object) -> None:
        delivered[0] += 1

    def counts() -> dict[str, int]:
        app.processEvents()
        gc.collect()
        return {
            "None": sys.getrefcount(None),
            "True": sys.getrefcount(True),
            "False": sys.getrefcount(False),
        }

    QTest.keyClicks(editor, "warm")
    editor.clear()
    before = counts()
    posts = keys // 2

    def worker() -> None:
        for i in range(posts):
            mailbox.post(arrive, i)

    thread = threading.Thread(target=worker)
    thread.start()
    for i in range(keys):
        QTest.keyClicks(editor, "å")
        app.processEvents()
        if i % 200 == 199:
            editor.clear()  # one ever longer line would make the editor, not Qt, the load
    thread.join()
    while delivered[0] < posts:
        app.processEvents()
    editor.clear()
    after = counts()
    app.removeEventFilter(watcher)
    return {name: after[name] - before[name] for name in before}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)), flush=True)
    os._exit(0)  # the figures are out; nothing of the app is left to tidy
