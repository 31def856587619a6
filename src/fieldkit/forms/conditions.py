"""The condition language: small, declarative and safe.

A condition is plain data (dicts, lists, strings, numbers), never code: there is no ``eval``, no
attribute access, no function call by name. Nesting is bounded (``MAX_DEPTH``) and so is size
(``MAX_NODES`` values, lists of at most ``MAX_LIST`` codes).

    {all: [c, ...]}            every sub-condition holds (true for an empty list)
    {any: [c, ...]}            at least one holds (false for an empty list)
    {not: c}                   c does not hold
    {item: B1, in: [a, b]}     B1 is answered and its answer is one of a, b
    {item: B1, not_in: [a]}    B1 is answered and its answer is none of them
    {item: I1, includes: a}    multi-select I1 has a among its answers
    {item: I1, includes_any: [a, b]}
    {item: B1, answered: true} B1 has (or has not) an answer
    {count: {items: 'B*,C*', in: [unknown], gte: 3, lte: 5, eq: 4}}
                               how many answered items whose id matches one of the patterns
                               have an answer in the list (any answer when ``in`` is left out)

Without ``item`` a comparison applies to the *subject*: the value of the item that owns the
condition (used by ``evidence.note_required_when``). A hidden item is unanswered: the caller
passes only the answers of visible items. Answers of multi-selects are lists; an ``in`` over a
list holds when every chosen code is in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from fieldkit.errors import N_
from fieldkit.forms.errors import ConditionError

MAX_DEPTH = 16
MAX_NODES = 500
MAX_LIST = 200

_COMBINATORS = ("all", "any", "not")
_COMPARISONS = ("in", "not_in", "includes", "includes_any", "answered")
_COUNT_KEYS = {"items", "in", "gte", "lte", "eq"}
_PATTERN = re.compile(r"^[A-Za-z0-9_*?]+$")
_MISSING: Any = object()


@dataclass(frozen=True)
class ConditionInfo:
    """What a well-formed condition refers to (for reference and cycle checks at load)."""

    items: frozenset[str]
    patterns: tuple[str, ...]
    uses_subject: bool
    # (item or None for the subject, operator, codes) for every comparison
    comparisons: tuple[tuple[str | None, str, tuple[str, ...]], ...] = ()


def _where(path: str) -> str:
    return path or "$"


class _Walker:
    """Checks the shape of a condition (shared by evaluation and static analysis)."""

    def __init__(self) -> None:
        self.nodes = 0

    def count(self, path: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ConditionError(
                N_("The condition is too large (more than {limit} parts)."),
                _where(path),
                limit=MAX_NODES,
            )


def _codes(value: Any, path: str, op: str) -> list[str]:
    if not isinstance(value, list):
        raise ConditionError(N_("'{op}' needs a list of codes."), path, op=op)
    if len(value) > MAX_LIST:
        raise ConditionError(
            N_("'{op}' lists more than {limit} codes."), path, op=op, limit=MAX_LIST
        )
    for code in value:
        _code(code, path, op)
    return value


def _code(value: Any, path: str, op: str) -> str:
    if isinstance(value, bool):
        raise ConditionError(
            N_("'{op}' holds the boolean {value}, not a code: quote it ('yes', 'no')."),
            path,
            op=op,
            value=str(value).lower(),
        )
    if not isinstance(value, str):
        raise ConditionError(N_("'{op}' needs codes written as text."), path, op=op)
    return value


def _count_number(value: Any, path: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConditionError(N_("'{op}' in a count needs a whole number, 0 or more."), path, op=key)
    return value


def split_patterns(spec: Any, path: str = "") -> tuple[str, ...]:
    if not isinstance(spec, str) or not spec.strip():
        raise ConditionError(N_("'items' in a count needs patterns such as 'B*,C*'."), path)
    patterns = tuple(p.strip() for p in spec.split(","))
    for p in patterns:
        if not _PATTERN.match(p):
            raise ConditionError(
                N_("The item pattern {pattern} may only hold letters, digits, _, * and ?."),
                path,
                pattern=p,
            )
    return patterns


def matching_items(patterns: Iterable[str], item_ids: Iterable[str]) -> list[str]:
    pats = tuple(patterns)
    return [i for i in item_ids if any(fnmatchcase(i, p) for p in pats)]


def _as_set(value: Any) -> frozenset[str] | None:
    """The chosen codes of an answer, or None when unanswered (or not a code answer)."""
    if value is None or value is _MISSING:
        return None
    if isinstance(value, str):
        return frozenset((value,)) if value != "" else None
    if isinstance(value, list | tuple):
        codes = frozenset(v for v in value if isinstance(v, str))
        return codes or None
    if isinstance(value, bool):
        return None
    return None


def _check_keys(cond: Mapping[str, Any], allowed: set[str], path: str) -> None:
    for key in cond:
        if key not in allowed:
            raise ConditionError(N_("Unknown key '{key}' in a condition."), path, key=str(key))


class _Evaluator(_Walker):
    def __init__(
        self, values: Mapping[str, Any], item_ids: Iterable[str] | None, subject: Any
    ) -> None:
        super().__init__()
        self.values = values
        self.item_ids = list(item_ids) if item_ids is not None else list(values)
        self.subject = subject

    def value(self, item: str) -> Any:
        return self.values.get(item)

    def eval(self, cond: Any, path: str, depth: int) -> bool:
        self.count(path)
        if depth > MAX_DEPTH:
            raise ConditionError(
                N_("The condition is nested more than {limit} levels deep."),
                _where(path),
                limit=MAX_DEPTH,
            )
        if not isinstance(cond, dict):
            raise ConditionError(
                N_("A condition must be a mapping such as {{item: B1, in: [a]}}."), _where(path)
            )
        combinators = [k for k in _COMBINATORS if k in cond]
        if combinators:
            if len(cond) != 1:
                raise ConditionError(
                    N_("'{op}' must stand alone in its condition (wrap several in 'all')."),
                    _where(path),
                    op=combinators[0],
                )
            op = combinators[0]
            arg = cond[op]
            if op == "not":
                return not self.eval(arg, f"{path}.not", depth + 1)
            if not isinstance(arg, list):
                raise ConditionError(N_("'{op}' needs a list of conditions."), _where(path), op=op)
            if len(arg) > MAX_LIST:
                raise ConditionError(
                    N_("'{op}' lists more than {limit} conditions."),
                    _where(path),
                    op=op,
                    limit=MAX_LIST,
                )
            # evaluate every branch (no short cut) so a malformed branch is always found
            results = [self.eval(c, f"{path}.{op}[{i}]", depth + 1) for i, c in enumerate(arg)]
            return all(results) if op == "all" else any(results)
        if "count" in cond:
            if len(cond) != 1:
                raise ConditionError(
                    N_("'{op}' must stand alone in its condition (wrap several in 'all')."),
                    _where(path),
                    op="count",
                )
            return self.count_op(cond["count"], f"{path}.count")
        return self.compare(cond, path)

    def compare(self, cond: Mapping[str, Any], path: str) -> bool:
        _check_keys(cond, {"item", *_COMPARISONS}, _where(path))
        ops = [k for k in _COMPARISONS if k in cond]
        if len(ops) != 1:
            raise ConditionError(
                N_(
                    "A condition needs exactly one of: all, any, not, count, in, not_in, "
                    "includes, includes_any, answered."
                ),
                _where(path),
            )
        op = ops[0]
        if "item" in cond:
            item = cond["item"]
            if not isinstance(item, str) or not item:
                raise ConditionError(N_("'item' must be an item id."), _where(path))
            value = self.value(item)
        else:
            if self.subject is _MISSING:
                raise ConditionError(N_("'{op}' needs an 'item' here."), _where(path), op=op)
            value = self.subject
        chosen = _as_set(value)
        arg = cond[op]
        if op == "answered":
            if not isinstance(arg, bool):
                raise ConditionError(N_("'answered' must be true or false."), _where(path))
            return (chosen is not None) is arg
        if op == "includes":
            code = _code(arg, _where(path), op)
            return chosen is not None and code in chosen
        codes = set(_codes(arg, _where(path), op))
        if op == "includes_any":
            return chosen is not None and bool(chosen & codes)
        if op == "in":
            return chosen is not None and chosen <= codes
        return chosen is not None and not (chosen & codes)  # not_in

    def count_op(self, spec: Any, path: str) -> bool:
        if not isinstance(spec, dict):
            raise ConditionError(
                N_("'count' needs a mapping with 'items' and a bound."), _where(path)
            )
        _check_keys(spec, _COUNT_KEYS, _where(path))
        patterns = split_patterns(spec.get("items"), _where(path))
        codes = set(_codes(spec["in"], _where(path), "in")) if "in" in spec else None
        bounds = {
            k: _count_number(spec[k], _where(path), k) for k in ("gte", "lte", "eq") if k in spec
        }
        if not bounds:
            raise ConditionError(N_("'count' needs at least one of gte, lte, eq."), _where(path))
        n = 0
        for item in matching_items(patterns, self.item_ids):
            chosen = _as_set(self.value(item))
            if chosen is not None and (codes is None or chosen <= codes):
                n += 1
        return (
            ("gte" not in bounds or n >= bounds["gte"])
            and ("lte" not in bounds or n <= bounds["lte"])
            and ("eq" not in bounds or n == bounds["eq"])
        )


def evaluate(
    cond: Any,
    values: Mapping[str, Any],
    *,
    item_ids: Iterable[str] | None = None,
    subject: Any = _MISSING,
) -> bool:
    """Whether ``cond`` holds for ``values`` (item id -> answer; hidden items left out).

    ``item_ids`` is the universe that count patterns match against (default: the keys of
    ``values``); ``subject`` is the value that item-less comparisons test. Raises only
    ``ConditionError`` for a malformed condition."""
    return _Evaluator(values, item_ids, subject).eval(cond, "", 0)


def analyse(cond: Any, *, allow_subject: bool = False) -> ConditionInfo:
    """Check a condition's shape without answers and say what it refers to."""
    items: set[str] = set()
    patterns: list[str] = []
    comparisons: list[tuple[str | None, str, tuple[str, ...]]] = []
    uses_subject = False

    class _Static(_Evaluator):
        def value(self, item: str) -> Any:
            items.add(item)
            return None

        def compare(self, cond: Mapping[str, Any], path: str) -> bool:
            nonlocal uses_subject
            if "item" not in cond:
                uses_subject = True
            result = super().compare(cond, path)
            op = next(k for k in _COMPARISONS if k in cond)
            arg = cond[op]
            codes = (arg,) if isinstance(arg, str) else tuple(arg) if isinstance(arg, list) else ()
            item = cond.get("item")
            comparisons.append((item if isinstance(item, str) else None, op, codes))
            return result

        def count_op(self, spec: Any, path: str) -> bool:
            if isinstance(spec, dict):
                patterns.extend(split_patterns(spec.get("items"), _where(path)))
            return super().count_op(spec, path)

    _Static({}, [], None if allow_subject else _MISSING).eval(cond, "", 0)
    return ConditionInfo(frozenset(items), tuple(patterns), uses_subject, tuple(comparisons))
