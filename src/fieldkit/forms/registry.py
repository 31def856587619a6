"""All the form versions the app knows, side by side, and the rule that released versions never
change.

Forms live as ``<form id>@<version>.yaml`` in a forms folder (the shipped ``forms/``, or a
municipality's own form pack). Each folder has ``released.lock.json``: for every released
(active or retired) version, the SHA-256 of its content. Loading refuses a released version whose
content no longer matches its lock entry, a released version missing from the lock, a locked
version that went back to draft, and a locked version whose file is gone (old assessments need
it). Retiring a version (active -> retired) is allowed: the status is not part of the hash.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from fieldkit.errors import N_, NotFound
from fieldkit.forms.definition import Form, version_key
from fieldkit.forms.errors import FormError, FormProblem
from fieldkit.forms.loader import load_form

LOCK_NAME = "released.lock.json"
LOCK_FORMAT = "fieldkit.forms.lock/1"


def shipped_forms_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "forms"
    checkout = Path(__file__).resolve().parents[3] / "forms"  # the checkout's forms/
    if not checkout.is_dir():
        installed = installed_forms_dir()
        if installed is not None:
            return installed
    return checkout


def installed_forms_dir() -> Path | None:
    """``share/fieldkit/forms`` of an installed (not frozen, not checked-out) fieldkit: the
    wheel carries the shipped forms as data files (pyproject's ``data-files``); where pip put
    them is in the distribution's file list."""
    from importlib import metadata

    try:
        files = metadata.distribution("fieldkit").files or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == LOCK_NAME and f.parent.name == "forms":
            return Path(str(f.locate())).resolve().parent
    return None


class FormNotFound(NotFound):
    code = "form_not_found"


def form_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def read_lock(folder: Path) -> dict[str, str]:
    path = folder / LOCK_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormError.one(
            N_("The lock file cannot be read: {reason}."), file=str(path), reason=str(exc)
        ) from None
    forms = data.get("forms") if isinstance(data, dict) else None
    if (
        data.get("format") != LOCK_FORMAT
        or not isinstance(forms, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in forms.items())
    ):
        raise FormError.one(
            N_("The lock file is not a {format} file."), file=str(path), format=LOCK_FORMAT
        )
    return dict(forms)


def write_lock(folder: Path, forms: Iterable[Form]) -> list[str]:
    """Add the released forms that are not yet locked; never changes an existing entry.
    Returns the keys added."""
    lock = read_lock(folder)
    added = []
    for form in forms:
        if form.released and form.key not in lock:
            lock[form.key] = form.content_hash
            added.append(form.key)
    if added:
        body = {"format": LOCK_FORMAT, "forms": dict(sorted(lock.items()))}
        (folder / LOCK_NAME).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return added


def check_release(form: Form, lock: dict[str, str], lock_file: str) -> list[FormProblem]:
    locked = lock.get(form.key)
    if locked is None:
        if form.released:
            return [
                FormProblem(
                    N_(
                        "{key} is {status} but not in the lock file; run `fieldkit forms lock` "
                        "when the version is released."
                    ),
                    {"key": form.key, "status": form.status},
                    form.source,
                )
            ]
        return []
    if not form.released:
        return [
            FormProblem(
                N_("{key} was released (it is in {lock}) and cannot go back to draft."),
                {"key": form.key, "lock": lock_file},
                form.source,
            )
        ]
    if locked != form.content_hash:
        return [
            FormProblem(
                N_(
                    "{key} is released and its content has changed since; a released version never "
                    "changes: give the change a new version number."
                ),
                {"key": form.key},
                form.source,
            )
        ]
    return []


class FormRegistry:
    """Every loaded form version, by id and version."""

    def __init__(self, forms: Iterable[Form] = ()) -> None:
        self._forms: dict[tuple[str, str], Form] = {}
        for form in forms:
            self._forms[(form.id, form.version)] = form

    @classmethod
    def load(cls, folders: Sequence[Path] | None = None) -> FormRegistry:
        """Load every form of the folders (default: the shipped forms). All problems of all
        files are reported together in one FormError."""
        problems: list[FormProblem] = []
        forms: list[Form] = []
        for folder in folders if folders is not None else [shipped_forms_dir()]:
            lock_file = str(folder / LOCK_NAME)
            try:
                lock = read_lock(folder)
            except FormError as exc:
                problems.extend(exc.problems)
                lock = {}
            seen: dict[str, str] = {}
            for path in form_files(folder):
                try:
                    form = load_form(path)
                except FormError as exc:
                    problems.extend(exc.problems)
                    continue
                if form.key in seen:
                    problems.append(
                        FormProblem(
                            N_("{key} is defined twice (also in {other})."),
                            {"key": form.key, "other": seen[form.key]},
                            str(path),
                        )
                    )
                    continue
                seen[form.key] = str(path)
                problems.extend(check_release(form, lock, lock_file))
                forms.append(form)
            for key in sorted(set(lock) - set(seen)):
                problems.append(
                    FormProblem(
                        N_("The released form {key} is missing; assessments made with it need it."),
                        {"key": key},
                        lock_file,
                    )
                )
        if problems:
            raise FormError(problems)
        return cls(forms)

    def all(self) -> list[Form]:
        return sorted(self._forms.values(), key=lambda f: (f.id, version_key(f.version)))

    def versions(self, form_id: str) -> list[Form]:
        return [f for f in self.all() if f.id == form_id]

    def get(self, form_id: str, version: str) -> Form:
        form = self._forms.get((form_id, version))
        if form is None:
            raise FormNotFound(
                N_("The form {form_id} version {version} is not installed."),
                N_("Install the form pack it belongs to."),
                form_id=form_id,
                version=version,
            )
        return form

    def latest(self, form_id: str) -> Form:
        """The newest active version: what a new assessment uses."""
        active = [f for f in self.versions(form_id) if f.status == "active"]
        if not active:
            raise FormNotFound(
                N_("The form {form_id} has no active version."),
                N_("List the installed forms with `fieldkit forms list`."),
                form_id=form_id,
                version="",
            )
        return active[-1]


@cache
def default_registry() -> FormRegistry:
    """The shipped forms, loaded once."""
    return FormRegistry.load()
