"""Reading a form definition: bounded safe YAML, the JSON Schema, then the checks a schema
cannot express. Every problem found is reported at once with file, place and line.

    form = load_form(Path("forms/fk.vbe.concern@1.0.0.yaml"))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from fieldkit.domain.codec import sha256_hex
from fieldkit.errors import N_
from fieldkit.forms import conditions
from fieldkit.forms.definition import (
    CHOICE_TYPES,
    DEFAULT_MAX_TEXT,
    Check,
    DefaultFrom,
    Evidence,
    Form,
    Item,
    Option,
    Section,
)
from fieldkit.forms.errors import ConditionError, FormError, FormProblem
from fieldkit.forms.safeyaml import MAX_BYTES, JPath, YamlDocument, json_path, load_yaml

REQUIRED_LOCALES = ("sv", "en")
FILE_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_.]*)@(?P<version>\d+\.\d+\.\d+)\.ya?ml$")


# what each item type may carry besides id, type, kind, label, help, required, when
APPLIES: dict[str, set[str]] = {
    "rating": {"scale", "trend", "key_factor", "evidence"},
    "yes_no_unknown": {"scale"},
    "singleselect": {"options", "options_ref", "scale"},
    "multiselect": {"options", "options_ref", "scale"},
    "text": {"min_length", "max_length"},
    "date": {"default_from"},
    "datetime": set(),
    "repeat": {"max", "fields"},
}
COMMON = {"id", "type", "kind", "label", "help", "required", "when"}

BUILTIN_YES_NO_UNKNOWN = (
    Option("yes", {"sv": "Ja", "en": "Yes"}),
    Option("no", {"sv": "Nej", "en": "No"}),
    Option("unknown", {"sv": "Okänt", "en": "Unknown"}),
)


def schema_path() -> Path:
    """forms/form.schema.json beside the shipped forms (checkout or frozen bundle)."""
    from fieldkit.forms.registry import shipped_forms_dir

    return shipped_forms_dir() / "form.schema.json"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@cache
def _sub_validator(definition: str) -> jsonschema.Draft202012Validator:
    root: Any = _validator().schema
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/$defs/{definition}", "$defs": root["$defs"]}
    )


def read_form_file(path: Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise FormError.one(N_("The file does not exist."), file=name) from None
    except OSError as exc:
        raise FormError.one(
            N_("The file cannot be read: {reason}."), file=name, reason=exc.strerror or str(exc)
        ) from None
    if not path.is_file():
        raise FormError.one(N_("This is not a file."), file=name)
    if size > max_bytes:
        raise FormError.one(
            N_("The file is {size} bytes; a form definition may be at most {limit} bytes."),
            file=name,
            size=size,
            limit=max_bytes,
        )
    try:
        with path.open("rb") as fh:
            return fh.read(max_bytes + 1)
    except OSError as exc:
        raise FormError.one(
            N_("The file cannot be read: {reason}."), file=name, reason=exc.strerror or str(exc)
        ) from None


def load_form(path: Path, *, check_file_name: bool = True) -> Form:
    data = read_form_file(path)
    form = load_form_text(data, file=str(path))
    if check_file_name:
        match = FILE_NAME.match(path.name)
        if match and (match["id"], match["version"]) != (form.id, form.version):
            raise FormError.one(
                N_("The file name says {named} but the form is {actual}; name it {expected}."),
                file=str(path),
                named=f"{match['id']}@{match['version']}",
                actual=form.key,
                expected=f"{form.key}.yaml",
            )
    return form


def load_form_text(source: bytes | str, file: str = "<form>") -> Form:
    doc = load_yaml(source, file)
    _schema_check(doc)
    return _Builder(doc).build()


def content_hash(document: Mapping[str, Any]) -> str:
    """The hash of a form's content: everything but its status (retiring a released form is
    allowed; changing what it asks is not)."""
    data = json.loads(json.dumps(document))
    if isinstance(data.get("form"), dict):
        data["form"].pop("status", None)
    return sha256_hex(data)


# --------------------------------------------------------------------------- schema


def _where(doc: YamlDocument, path: JPath) -> str:
    """'item B3', 'section F', 'check CHK1' or the JSON path."""
    data = doc.data
    try:
        if len(path) >= 4 and path[0] == "sections" and path[2] == "items":
            item = data["sections"][path[1]]["items"][path[3]]
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                rest = json_path(path[4:])[1:].lstrip(".")
                return f"item {item['id']}" + (f" ({rest})" if rest else "")
        if len(path) >= 2 and path[0] == "sections":
            section = data["sections"][path[1]]
            if isinstance(section, dict) and isinstance(section.get("id"), str):
                rest = json_path(path[2:])[1:].lstrip(".")
                return f"section {section['id']}" + (f" ({rest})" if rest else "")
        if len(path) >= 2 and path[0] == "checks":
            check = data["checks"][path[1]]
            if isinstance(check, dict) and isinstance(check.get("id"), str):
                rest = json_path(path[2:])[1:].lstrip(".")
                return f"check {check['id']}" + (f" ({rest})" if rest else "")
    except (KeyError, IndexError, TypeError):
        pass
    return json_path(path)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _schema_problem(
    doc: YamlDocument, err: jsonschema.ValidationError, base: JPath = ()
) -> FormProblem:
    path: JPath = (*base, *err.absolute_path)
    line = doc.line(path)
    where = _where(doc, path)
    if path in doc.boolean_texts:
        text = doc.boolean_texts[path]
        message = (
            N_("{text} is read by YAML as the boolean {value}, not as a code: quote it ('{text}').")
            if path and path[-1] == "code"
            else N_(
                "{text} is read by YAML as the boolean {value}: quote it ('{text}') if it is "
                "meant as text."
            )
        )
        return FormProblem(
            message,
            {"text": text, "value": str(err.instance).lower()},
            doc.file,
            line,
            where,
        )
    if path == ("form", "scoring"):
        return FormProblem(
            N_(
                "Only 'scoring: none' is allowed: the app never sums, averages or derives a "
                "level from ratings."
            ),
            {},
            doc.file,
            line,
            where,
        )
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return FormProblem(N_("'{field}' is missing."), {"field": missing}, doc.file, line, where)
    if err.validator == "additionalProperties":
        return FormProblem(
            N_("Unknown field: {detail}."), {"detail": _short(err.message)}, doc.file, line, where
        )
    return FormProblem(
        N_("Does not fit the form schema: {detail}."),
        {"detail": _short(err.message)},
        doc.file,
        line,
        where,
    )


def _schema_check(doc: YamlDocument) -> None:
    errors = sorted(
        _validator().iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if errors:
        # one problem per place: the deepest, most specific error of each path is enough
        seen: set[tuple[Any, ...]] = set()
        problems = []
        for err in errors:
            best = jsonschema.exceptions.best_match([err])
            key = (tuple(best.absolute_path), best.message)
            if key in seen:
                continue
            seen.add(key)
            problems.append(_schema_problem(doc, best))
        raise FormError(problems)


# --------------------------------------------------------------------------- semantics


class _Builder:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.problems: list[FormProblem] = []
        meta = self.data["form"]
        self.locales: tuple[str, ...] = tuple(meta["locales"])
        self.scales: dict[str, tuple[Option, ...]] = {}
        self.option_sets: dict[str, tuple[Option, ...]] = {}

    def problem(self, message: str, path: JPath, **params: Any) -> None:
        self.problems.append(
            FormProblem(message, params, self.doc.file, self.doc.line(path), _where(self.doc, path))
        )

    # -- texts

    def texts(self, value: Any, path: JPath, what: str) -> dict[str, str]:
        if not isinstance(value, dict):
            return {}
        for locale in self.locales:
            if locale not in value:
                self.problem(
                    N_("The text has no '{locale}' translation."), path, what=what, locale=locale
                )
        for locale in value:
            if locale not in self.locales:
                self.problem(
                    N_("There is a text in '{locale}', which is not among the form's locales."),
                    (*path, locale),
                    what=what,
                    locale=locale,
                )
        return dict(value)

    def options(self, raw: Any, path: JPath, what: str) -> tuple[Option, ...]:
        out: list[Option] = []
        seen: set[str] = set()
        for i, entry in enumerate(raw or []):
            code = entry["code"]
            if code in seen:
                self.problem(
                    N_("The option code {code} appears twice."),
                    (*path, i, "code"),
                    code=code,
                    what=what,
                )
            seen.add(code)
            labels = {k: v for k, v in entry.items() if k not in ("code", "help")}
            self.texts(labels, (*path, i), f"option {code} of {what}")
            help_ = (
                self.texts(entry["help"], (*path, i, "help"), f"help of option {code}")
                if "help" in entry
                else None
            )
            out.append(Option(code, labels, help_))
        return tuple(out)

    # -- the whole form

    def build(self) -> Form:
        meta = self.data["form"]
        for locale in REQUIRED_LOCALES:
            if locale not in self.locales:
                self.problem(
                    N_(
                        "The form must be written in both Swedish and English; "
                        "'{locale}' is missing from locales."
                    ),
                    ("form", "locales"),
                    locale=locale,
                )
        default_locale = meta.get("default_locale", self.locales[0])
        if default_locale not in self.locales:
            self.problem(
                N_("The default locale {locale} is not among the form's locales."),
                ("form", "default_locale"),
                locale=default_locale,
            )
        title = self.texts(meta["title"], ("form", "title"), "form title")
        description = (
            self.texts(meta["description"], ("form", "description"), "description")
            if "description" in meta
            else None
        )
        disclaimer = (
            self.texts(meta["disclaimer"], ("form", "disclaimer"), "disclaimer")
            if "disclaimer" in meta
            else None
        )
        changes = (
            self.texts(meta["changes"], ("form", "changes"), "list of changes")
            if "changes" in meta
            else None
        )
        for name, raw in (self.data.get("scales") or {}).items():
            self.scales[name] = self.options(raw, ("scales", name), f"scale {name}")
        for name, raw in (self.data.get("option_sets") or {}).items():
            self.option_sets[name] = self.options(raw, ("option_sets", name), f"option set {name}")
        kinds: dict[str, dict[str, Any]] = self.data.get("kinds") or {}
        for name, kind in kinds.items():
            if "id" in kind:
                self.problem(
                    N_("A kind gives defaults and cannot carry an id."), ("kinds", name, "id")
                )
            if "kind" in kind:
                self.problem(N_("A kind cannot itself have a kind."), ("kinds", name, "kind"))

        sections: list[Section] = []
        seen_sections: dict[str, JPath] = {}
        seen_items: dict[str, JPath] = {}
        for si, raw_section in enumerate(self.data["sections"]):
            spath: JPath = ("sections", si)
            sid = raw_section["id"]
            if sid in seen_sections:
                self.problem(
                    N_("The section id {id} is used twice (first at line {first})."),
                    (*spath, "id"),
                    id=sid,
                    first=self.doc.line(seen_sections[sid]) or "?",
                )
            seen_sections.setdefault(sid, spath)
            section_kind = raw_section.get("kind")
            if section_kind is not None and section_kind not in kinds:
                self.problem(
                    N_("The kind {kind} is not defined under 'kinds'."),
                    (*spath, "kind"),
                    kind=section_kind,
                )
            items: list[Item] = []
            for ii, raw_item in enumerate(raw_section["items"]):
                ipath: JPath = (*spath, "items", ii)
                iid = raw_item["id"]
                if iid in seen_items:
                    self.problem(
                        N_(
                            "The item id {id} is used twice (first at line {first}); "
                            "item ids must be unique in the form."
                        ),
                        (*ipath, "id"),
                        id=iid,
                        first=self.doc.line(seen_items[iid]) or "?",
                    )
                seen_items.setdefault(iid, ipath)
                kind_name = raw_item.get("kind", section_kind)
                if "kind" in raw_item and kind_name not in kinds:
                    self.problem(
                        N_("The kind {kind} is not defined under 'kinds'."),
                        (*ipath, "kind"),
                        kind=kind_name,
                    )
                merged = {**kinds.get(kind_name or "", {}), **raw_item}
                merged.pop("kind", None)
                item = self.item(merged, ipath, sid)
                if item is not None:
                    items.append(item)
            sections.append(
                Section(
                    id=sid,
                    title=self.texts(raw_section["title"], (*spath, "title"), "section title"),
                    help=self.texts(raw_section["help"], (*spath, "help"), "section help")
                    if "help" in raw_section
                    else None,
                    when=raw_section.get("when"),
                    items=tuple(items),
                    line=self.doc.line(spath),
                )
            )
        checks = self.checks()
        form = Form(
            id=meta["id"],
            version=meta["version"],
            status=meta["status"],
            title=title,
            locales=self.locales,
            default_locale=default_locale,
            sections=tuple(sections),
            checks=checks,
            scales=self.scales,
            option_sets=self.option_sets,
            description=description,
            disclaimer=disclaimer,
            changes=changes,
            supersedes=meta.get("supersedes"),
            reassessment_item=meta.get("reassessment_item"),
            scoring=meta["scoring"],
            content_hash=content_hash(self.data),
            source=self.doc.file,
        )
        self.all_ids = set(seen_items)
        self.references(form)
        order = self.visibility_order(form)  # also reports cycles next to other problems
        object.__setattr__(form, "visibility_order", order)
        if self.problems:
            raise FormError(self.problems)
        return form

    # -- one item

    def item(self, raw: dict[str, Any], path: JPath, section_id: str) -> Item | None:
        before = len(self.problems)
        for err in _sub_validator("resolved_item").iter_errors(raw):
            self.problems.append(
                _schema_problem(self.doc, jsonschema.exceptions.best_match([err]), path)
            )
        if len(self.problems) > before:
            return None
        kind = raw["type"]
        for prop in raw:
            if prop not in COMMON and prop not in APPLIES[kind]:
                self.problem(
                    N_("'{field}' does not apply to a {type} item."),
                    (*path, prop),
                    field=prop,
                    type=kind,
                )
        label = self.texts(raw["label"], (*path, "label"), f"label of item {raw['id']}")
        help_ = (
            self.texts(raw["help"], (*path, "help"), f"help of item {raw['id']}")
            if "help" in raw
            else None
        )
        required = raw.get("required", False)
        required_when = None
        if isinstance(required, dict):
            required_when = required["when"]
            required = False
        options, source = self.choices(raw, path)
        trend: tuple[Option, ...] = ()
        if raw.get("trend"):
            name = "trend" if raw["trend"] is True else raw["trend"]
            if name not in self.scales:
                self.problem(
                    N_("The trend scale {scale} is not defined under 'scales'."),
                    (*path, "trend"),
                    scale=name,
                )
            trend = self.scales.get(name, ())
        evidence = None
        if "evidence" in raw:
            ev = raw["evidence"]
            sources: tuple[Option, ...] = ()
            if "sources" in ev:
                if ev["sources"] not in self.option_sets:
                    self.problem(
                        N_("The option set {name} is not defined under 'option_sets'."),
                        (*path, "evidence", "sources"),
                        name=ev["sources"],
                    )
                sources = self.option_sets.get(ev["sources"], ())
            evidence = Evidence(
                sources,
                ev.get("sources"),
                bool(ev.get("observed_on")),
                ev.get("note_required_when"),
            )
        fields: list[Item] = []
        if kind == "repeat":
            seen: set[str] = set()
            for fi, raw_field in enumerate(raw["fields"]):
                fpath: JPath = (*path, "fields", fi)
                if raw_field["id"] in seen:
                    self.problem(
                        N_("The field id {id} is used twice in this group."),
                        (*fpath, "id"),
                        id=raw_field["id"],
                    )
                seen.add(raw_field["id"])
                field_options, field_source = self.choices(raw_field, fpath)
                self.lengths(raw_field, fpath)
                fields.append(
                    Item(
                        id=raw_field["id"],
                        type=raw_field["type"],
                        section_id=section_id,
                        label=self.texts(
                            raw_field["label"],
                            (*fpath, "label"),
                            f"label of field {raw_field['id']}",
                        ),
                        help=self.texts(raw_field["help"], (*fpath, "help"), "field help")
                        if "help" in raw_field
                        else None,
                        required=bool(raw_field.get("required", False)),
                        options=field_options,
                        options_source=field_source,
                        min_length=raw_field.get("min_length", 0),
                        max_length=raw_field.get("max_length", DEFAULT_MAX_TEXT),
                        line=self.doc.line(fpath),
                    )
                )
        self.lengths(raw, path)
        default_from = None
        if "default_from" in raw:
            df = raw["default_from"]
            urgent = df.get("urgent_override") or {}
            default_from = DefaultFrom(
                df["item"],
                dict(df["map"]),
                urgent.get("item"),
                tuple(urgent.get("in", ())),
                urgent.get("value"),
            )
        return Item(
            id=raw["id"],
            type=kind,
            label=label,
            section_id=section_id,
            help=help_,
            required=bool(required),
            required_when=required_when,
            when=raw.get("when"),
            options=options,
            options_source=source,
            trend=trend,
            key_factor=bool(raw.get("key_factor", False)),
            evidence=evidence,
            min_length=raw.get("min_length", 0),
            max_length=raw.get("max_length", DEFAULT_MAX_TEXT),
            max=raw.get("max", 0),
            fields=tuple(fields),
            default_from=default_from,
            line=self.doc.line(path),
        )

    def lengths(self, raw: Mapping[str, Any], path: JPath) -> None:
        if raw.get("min_length", 0) > raw.get("max_length", DEFAULT_MAX_TEXT):
            self.problem(N_("min_length is larger than max_length."), (*path, "min_length"))

    def choices(self, raw: Mapping[str, Any], path: JPath) -> tuple[tuple[Option, ...], str]:
        kind = raw["type"]
        if kind not in CHOICE_TYPES:
            return (), ""
        given = [k for k in ("options", "options_ref", "scale") if k in raw]
        if kind == "yes_no_unknown":
            name = raw.get("scale")
            if name is None:
                if "yes_no_unknown" in self.scales:
                    name = "yes_no_unknown"
                else:
                    return BUILTIN_YES_NO_UNKNOWN, "builtin"
            options = self.scale(name, (*path, "scale"))
            if options and {o.code for o in options} != {"yes", "no", "unknown"}:
                self.problem(
                    N_(
                        "A yes/no/unknown item needs a scale with exactly the codes "
                        "'yes', 'no' and 'unknown'."
                    ),
                    (*path, "scale"),
                )
            return options, f"scale:{name}"
        if kind == "rating":
            options = self.scale(raw["scale"], (*path, "scale"))
            if options and "unknown" not in {o.code for o in options}:
                self.problem(
                    N_(
                        "The rating scale {scale} has no 'unknown' code; 'unknown' is "
                        "always an answer."
                    ),
                    (*path, "scale"),
                    scale=raw["scale"],
                )
            return options, f"scale:{raw['scale']}"
        if len(given) != 1:
            self.problem(
                N_("A {type} item needs exactly one of options, options_ref or scale."),
                path,
                type=kind,
            )
            return (), ""
        if given[0] == "options":
            return self.options(raw["options"], (*path, "options"), f"item {raw['id']}"), "inline"
        if given[0] == "scale":
            return self.scale(raw["scale"], (*path, "scale")), f"scale:{raw['scale']}"
        name = raw["options_ref"]
        if name not in self.option_sets:
            self.problem(
                N_("The option set {name} is not defined under 'option_sets'."),
                (*path, "options_ref"),
                name=name,
            )
            return (), ""
        return self.option_sets[name], f"option_set:{name}"

    def scale(self, name: str, path: JPath) -> tuple[Option, ...]:
        if name not in self.scales:
            self.problem(N_("The scale {scale} is not defined under 'scales'."), path, scale=name)
            return ()
        return self.scales[name]

    # -- checks

    def checks(self) -> tuple[Check, ...]:
        out: list[Check] = []
        seen: set[str] = set()
        for ci, raw in enumerate(self.data.get("checks") or []):
            cpath: JPath = ("checks", ci)
            if raw["id"] in seen:
                self.problem(N_("The check id {id} is used twice."), (*cpath, "id"), id=raw["id"])
            seen.add(raw["id"])
            out.append(
                Check(
                    id=raw["id"],
                    when=raw["when"],
                    message=self.texts(
                        raw["message"], (*cpath, "message"), f"message of check {raw['id']}"
                    ),
                    items=tuple(raw.get("items", ())),
                    severity=raw["severity"],
                    line=self.doc.line(cpath),
                )
            )
        return tuple(out)

    # -- references and conditions

    def _path_of_item(self, item_id: str) -> JPath:
        for si, section in enumerate(self.data["sections"]):
            for ii, raw in enumerate(section["items"]):
                if raw["id"] == item_id:
                    return ("sections", si, "items", ii)
        return ()

    def condition(
        self, form: Form, cond: Any, path: JPath, *, subject: Item | None = None
    ) -> set[str]:
        """Check one condition; return the items its value depends on."""
        try:
            info = conditions.analyse(cond, allow_subject=subject is not None)
        except ConditionError as exc:
            self.problem(
                N_("The condition is not valid: {detail} (at {where})."),
                path,
                detail=exc.render(lambda s: s),
                where=exc.path,
            )
            return set()
        deps = set()
        for item_id in sorted(info.items):
            if item_id not in self.all_ids:
                self.problem(
                    N_("The condition refers to item {ref}, which does not exist."),
                    path,
                    ref=item_id,
                )
            deps.add(item_id)
        for pattern in info.patterns:
            matched = conditions.matching_items([pattern], form.item_ids)
            if not matched:
                self.problem(
                    N_("The count pattern {pattern} matches no item."), path, pattern=pattern
                )
            deps.update(matched)
        for ref, op, codes in info.comparisons:
            target = subject if ref is None else form.item(ref)
            if target is None:
                continue
            if op == "answered":
                continue
            if target.type not in CHOICE_TYPES:
                self.problem(
                    N_(
                        "Item {ref} is a {type} item; a condition can only ask "
                        "whether it is answered."
                    ),
                    path,
                    ref=target.id,
                    type=target.type,
                )
                continue
            if op in ("includes", "includes_any") and target.type != "multiselect":
                self.problem(
                    N_("'{op}' applies to multi-select items; {ref} is a {type} item (use 'in')."),
                    path,
                    op=op,
                    ref=target.id,
                    type=target.type,
                )
            for code in codes if target.codes else ():  # no options: already reported
                if code not in target.codes:
                    self.problem(
                        N_(
                            "The condition tests {ref} for the code {code}, which is "
                            "not one of its options ({valid})."
                        ),
                        path,
                        ref=target.id,
                        code=code,
                        valid=", ".join(target.codes),
                    )
        return deps

    def references(self, form: Form) -> None:
        self.deps: dict[str, set[str]] = {}
        for si, section in enumerate(form.sections):
            section_deps: set[str] = set()
            if section.when is not None:
                section_deps = self.condition(form, section.when, ("sections", si, "when"))
            for item in section.items:
                ipath = self._path_of_item(item.id)
                deps = set(section_deps)
                if item.when is not None:
                    deps |= self.condition(form, item.when, (*ipath, "when"))
                self.deps[item.id] = deps
                if item.required_when is not None:
                    self.condition(form, item.required_when, (*ipath, "required", "when"))
                if item.evidence and item.evidence.note_required_when is not None:
                    self.condition(
                        form,
                        item.evidence.note_required_when,
                        (*ipath, "evidence", "note_required_when"),
                        subject=item,
                    )
                if item.default_from:
                    self.default_from(form, item, ipath)
        for ci, check in enumerate(form.checks):
            self.condition(form, check.when, ("checks", ci, "when"))
            for ref in check.items:
                if form.item(ref) is None:
                    self.problem(
                        N_("The check names item {ref}, which does not exist."),
                        ("checks", ci, "items"),
                        ref=ref,
                    )
        if form.reassessment_item is not None:
            target = form.item(form.reassessment_item)
            home = form.section_of(form.reassessment_item)
            if (
                target is not None
                and target.type == "date"
                and home is not None
                and not (target.required and target.when is None and home.when is None)
            ):
                self.problem(
                    N_(
                        "The re-assessment date {ref} must always be asked and required "
                        "(required: true, no 'when' on it or its section)."
                    ),
                    ("form", "reassessment_item"),
                    ref=form.reassessment_item,
                )
            if target is None or target.type != "date":
                self.problem(
                    N_("reassessment_item must name a date item; {ref} is not one."),
                    ("form", "reassessment_item"),
                    ref=form.reassessment_item,
                )

    def default_from(self, form: Form, item: Item, path: JPath) -> None:
        df = item.default_from
        assert df is not None
        source = form.item(df.item)
        if source is None:
            self.problem(
                N_("default_from refers to item {ref}, which does not exist."),
                (*path, "default_from", "item"),
                ref=df.item,
            )
        else:
            for code in df.map:
                if code not in source.codes:
                    self.problem(
                        N_("default_from maps the code {code}, which {ref} does not have."),
                        (*path, "default_from", "map"),
                        code=code,
                        ref=df.item,
                    )
        if df.urgent_item is not None:
            urgent = form.item(df.urgent_item)
            if urgent is None:
                self.problem(
                    N_("default_from refers to item {ref}, which does not exist."),
                    (*path, "default_from", "urgent_override"),
                    ref=df.urgent_item,
                )
            else:
                for code in df.urgent_in:
                    if code not in urgent.codes:
                        self.problem(
                            N_("default_from maps the code {code}, which {ref} does not have."),
                            (*path, "default_from", "urgent_override"),
                            code=code,
                            ref=df.urgent_item,
                        )

    def visibility_order(self, form: Form) -> tuple[str, ...]:
        """Items in an order where each comes after every item its visibility depends on;
        a cycle (visibility that depends on itself) is an error naming the cycle."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = in progress, 2 = done
        for start in form.item_ids:
            if state.get(start):
                continue
            stack: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(self.deps[start])))]
            state[start] = 1
            trail = [start]
            while stack:
                node, children = stack[-1]
                advanced = False
                for child in children:
                    if state.get(child) == 1:
                        cycle = [*trail[trail.index(child) :], child]
                        self.problem(
                            N_("The visibility conditions form a cycle: {cycle}."),
                            self._path_of_item(node),
                            cycle=" -> ".join(cycle),
                        )
                        return ()
                    if not state.get(child) and child in self.deps:
                        state[child] = 1
                        trail.append(child)
                        stack.append((child, iter(sorted(self.deps[child]))))
                        advanced = True
                        break
                if not advanced:
                    stack.pop()
                    trail.pop()
                    state[node] = 2
                    order.append(node)
        return tuple(order)
