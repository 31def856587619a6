"""What goes wrong with a form definition or with answers to it, said precisely.

A problem with a definition names the file, where in it (an item id or a JSON path), the line
where the YAML loader knows it, and what is wrong. All problems found in one file are reported
together in one ``FormError``; nothing about a malformed definition ever escapes as a
traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldkit.errors import N_, ExitCode, FieldkitError


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong with a form definition. ``message`` is an English message id."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)
    file: str = ""
    line: int | None = None
    where: str = ""  # "item B3", "section F_URGENT", "check CHK1" or a JSON path

    def render(self, translate: Callable[[str], str] = lambda s: s) -> str:
        place = self.file or "<form>"
        if self.line is not None:
            place += f":{self.line}"
        text = translate(self.message).format(**self.params)
        return f"{place}: {self.where}: {text}" if self.where else f"{place}: {text}"


class FormError(FieldkitError):
    """A form definition that cannot be used; ``problems`` lists everything found."""

    exit_code = ExitCode.CONFIG
    code = "form_invalid"

    def __init__(self, problems: Sequence[FormProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            N_("The form definition has {count} problem(s):"),
            count=len(self.problems),
        )

    def render(self, translate: Any) -> str:
        head = translate(self.msgid).format(**self.params)
        return "\n".join([head, *(p.render(translate) for p in self.problems)])

    @classmethod
    def one(
        cls,
        message: str,
        *,
        file: str = "",
        line: int | None = None,
        where: str = "",
        **params: Any,
    ) -> FormError:
        return cls([FormProblem(message, params, file=file, line=line, where=where)])


class ConditionError(FieldkitError):
    """A condition that is not well-formed (unknown operator, too deep, too large...)."""

    exit_code = ExitCode.CONFIG
    code = "condition_invalid"

    def __init__(self, message: str, path: str = "", **params: Any) -> None:
        self.path = path
        super().__init__(message, **params)
