"""The base of every error a user can cause.

A user error carries an English message id with ``{placeholders}`` and its parameters, so the
CLI and the GUI can render it in the user's language (``fieldkit.i18n.render``), and an exit
code for the command line. Programming errors are ordinary exceptions and fail loudly.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message for translation without translating it here (gettext convention)."""
    return message


class ExitCode:
    OK = 0
    FAILURE = 1
    USAGE = 2
    AUTH = 3  # wrong passphrase, locked out, keyring problems
    INTEGRITY = 4  # tampered or corrupt vault, broken audit chain
    NOT_FOUND = 5
    REFUSED = 6  # a domain rule refused the action
    NETWORK = 7  # server unreachable, not a fieldkit server, revoked
    CONFIG = 8  # malformed configuration or form definition


class FieldkitError(Exception):
    """An error the user can cause and act on. ``remedy`` says what to do about it."""

    exit_code: int = ExitCode.FAILURE
    code: str = "error"

    def __init__(
        self,
        message: str,
        remedy: str | None = None,
        *,
        code: str | None = None,
        **params: Any,
    ) -> None:
        self.msgid = message
        self.remedy_msgid = remedy
        self.params = params
        if code is not None:
            self.code = code
        super().__init__(self.render(lambda s: s))

    def render(self, translate: Any) -> str:
        text = translate(self.msgid).format(**self.params)
        if self.remedy_msgid:
            text += " " + translate(self.remedy_msgid).format(**self.params)
        return text


class NotFound(FieldkitError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class Refused(FieldkitError):
    """A domain rule refuses the action (editing a signed entry, reviewing one's own work...)."""

    exit_code = ExitCode.REFUSED
    code = "refused"


class InvalidInput(FieldkitError):
    exit_code = ExitCode.USAGE
    code = "invalid_input"
