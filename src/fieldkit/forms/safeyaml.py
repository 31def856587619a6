"""A bounded, safe YAML reader that remembers where every value came from.

Only plain YAML data is accepted: mappings with string keys, sequences, strings, numbers,
booleans and null. No Python tags, no custom tags, no merge keys, no duplicate keys. Input is
bounded in bytes, nesting depth and number of values (aliases count every time they are used,
so an "exponential entity" document is refused rather than expanded). Every value's line is
kept, keyed by its JSON path, so later checks can point at the line; booleans keep the text they
were written as, because YAML 1.1 reads unquoted ``yes``/``no``/``on``/``off`` as booleans and
that is the most common mistake in option codes.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import yaml

from fieldkit.errors import N_
from fieldkit.forms.errors import FormError, FormProblem

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 200_000

JPath = tuple[str | int, ...]

_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_T + t for t in ("str", "null", "bool", "int", "float", "timestamp")}

# The pure-Python safe loader, always: libyaml accepts some documents the pure parser refuses
# (e.g. "{sv: Varför?, en: Why?}"), and a form must read the same on every installation.
_Loader: Any = yaml.SafeLoader


@dataclass
class YamlDocument:
    data: Any
    lines: dict[JPath, int] = field(default_factory=dict)
    boolean_texts: dict[JPath, str] = field(default_factory=dict)
    file: str = ""

    def line(self, path: JPath) -> int | None:
        """The line of the value at ``path``, or of its nearest enclosing value."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]


def json_path(path: JPath) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def load_yaml(
    source: bytes | str,
    file: str = "",
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_values: int = MAX_VALUES,
) -> YamlDocument:
    raw = source.encode("utf-8") if isinstance(source, str) else source
    if len(raw) > max_bytes:
        raise FormError.one(
            N_("The file is {size} bytes; a form definition may be at most {limit} bytes."),
            file=file,
            size=len(raw),
            limit=max_bytes,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError.one(
            N_("The file is not UTF-8 text (byte {position})."), file=file, position=exc.start
        ) from None
    if "\x00" in text:
        raise FormError.one(
            N_("The file contains NUL characters; it is not a YAML text."), file=file
        )
    events = _check_shape(text, file, max_depth)
    try:
        node = _EventComposer(events).get_single_node()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, file) from None
    except RecursionError:  # pragma: no cover - prevented by _check_shape
        raise FormError.one(N_("The YAML is nested too deeply."), file=file) from None
    doc = YamlDocument(data=None, file=file)
    if node is None:
        raise FormError.one(N_("The file is empty."), file=file)
    builder = _Builder(doc, max_depth, max_values)
    doc.data = builder.build(node, (), 0)
    if builder.problems:
        raise FormError(builder.problems)
    return doc


def _syntax_error(exc: yaml.YAMLError, file: str) -> FormError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "nesting depth" in str(problem):  # libyaml's own limit, far above ours
        return FormError.one(
            N_("The YAML is nested more than {limit} levels deep."),
            file=file,
            line=line,
            limit=MAX_DEPTH,
        )
    return FormError.one(
        N_("This is not valid YAML: {detail}."), file=file, line=line, detail=str(problem)
    )


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _EventComposer(yaml.composer.Composer, yaml.resolver.Resolver):
    """The safe loader's composer and resolver, fed from events already parsed and checked
    (so the text is parsed once)."""

    def __init__(self, events: list[yaml.Event]) -> None:
        self._events = deque(events)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    def check_event(self, *choices: Any) -> bool:
        if not self._events:
            return False
        return not choices or isinstance(self._events[0], choices)

    def peek_event(self) -> Any:
        return self._events[0]

    def get_event(self) -> Any:
        return self._events.popleft()


def _check_shape(text: str, file: str, max_depth: int) -> list[yaml.Event]:
    """Parse to events (the parser is iterative, so this is safe on any input), refusing deep
    nesting and multi-document files before anything recursive touches them."""
    depth = 0
    documents = 0
    events: list[yaml.Event] = []
    try:
        for event in yaml.parse(text, Loader=_Loader):
            events.append(event)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise FormError.one(
                        N_("The YAML is nested more than {limit} levels deep."),
                        file=file,
                        line=_line(event.start_mark),
                        limit=max_depth,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise FormError.one(
                        N_("The file holds more than one YAML document; a form is one document."),
                        file=file,
                        line=_line(event.start_mark),
                    )
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, file) from None
    return events


class _Builder:
    def __init__(self, doc: YamlDocument, max_depth: int, max_values: int) -> None:
        self.doc = doc
        self.max_depth = max_depth
        self.budget = max_values
        self.problems: list[FormProblem] = []
        self.scalars = yaml.constructor.SafeConstructor()

    def problem(self, message: str, node: yaml.Node, path: JPath, **params: Any) -> None:
        self.problems.append(
            FormProblem(
                message,
                params,
                file=self.doc.file,
                line=node.start_mark.line + 1,
                where=json_path(path) if path else "",
            )
        )

    def build(self, node: yaml.Node, path: JPath, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            if self.budget == -1:
                self.problem(
                    N_("The document has too many values (aliases count each time they are used)."),
                    node,
                    path,
                )
            return None
        if depth > self.max_depth:
            self.problem(
                N_("The YAML is nested more than {limit} levels deep."),
                node,
                path,
                limit=self.max_depth,
            )
            return None
        self.doc.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _T + "seq":
                self.problem(N_("The YAML tag {tag} is not allowed."), node, path, tag=node.tag)
                return None
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _T + "map":
                self.problem(N_("The YAML tag {tag} is not allowed."), node, path, tag=node.tag)
                return None
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _T + "str":
                    if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _T + "bool":
                        self.problem(
                            N_("The key {key} is read by YAML as a boolean; quote it ('{key}')."),
                            key_node,
                            path,
                            key=key_node.value,
                        )
                    elif isinstance(key_node, yaml.ScalarNode) and key_node.tag == _T + "merge":
                        self.problem(N_("YAML merge keys (<<) are not allowed."), key_node, path)
                    else:
                        self.problem(N_("Mapping keys must be plain text."), key_node, path)
                    continue
                key = key_node.value
                if key in out:
                    self.problem(N_("The key {key} appears twice."), key_node, path, key=key)
                    continue
                out[key] = self.build(value_node, (*path, key), depth + 1)
            return out
        self.problem(N_("Unsupported YAML value."), node, path)  # pragma: no cover
        return None

    def scalar(self, node: yaml.ScalarNode, path: JPath) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.problem(N_("The YAML tag {tag} is not allowed."), node, path, tag=node.tag)
            return None
        try:
            value = self.scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            self.problem(N_("The value {value} cannot be read."), node, path, value=node.value[:40])
            return None
        if isinstance(value, bool):
            self.doc.boolean_texts[path] = node.value
        if isinstance(value, dt.date | dt.datetime):
            return node.value  # dates stay text; the form engine parses them where expected
        return value
