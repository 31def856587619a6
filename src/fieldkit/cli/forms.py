"""``fieldkit forms``: check form definitions, list installed forms, lock released versions."""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path
from typing import Any

from fieldkit.errors import N_, ExitCode
from fieldkit.forms.errors import FormError, FormProblem
from fieldkit.forms.loader import load_form
from fieldkit.forms.registry import (
    LOCK_NAME,
    FormRegistry,
    check_release,
    form_files,
    read_lock,
    shipped_forms_dir,
    write_lock,
)


def register(subparsers: Any) -> None:
    forms = subparsers.add_parser("forms", help="form definitions (check, list, lock)")
    sub = forms.add_subparsers(dest="forms_command", metavar="SUBCOMMAND")
    check = sub.add_parser(
        "check", help="check form definition files; exit non-zero naming every problem"
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="YAML files, folders or globs")
    check.set_defaults(func=cmd_check)
    lst = sub.add_parser("list", help="list the installed forms and their versions")
    lst.add_argument("--dir", action="append", type=Path, help="a forms folder (repeatable)")
    lst.set_defaults(func=cmd_list)
    lock = sub.add_parser("lock", help="record released versions in the folder's lock file")
    lock.add_argument("dir", nargs="?", type=Path, help="forms folder (default: shipped forms)")
    lock.set_defaults(func=cmd_lock)
    forms.set_defaults(func=lambda args: (forms.print_help(), ExitCode.USAGE)[1])


def _translate() -> Any:
    from fieldkit.i18n import gettext_for

    return gettext_for(None)


def expand(paths: list[str]) -> tuple[list[Path], list[FormProblem]]:
    """Files named, folders searched, and globs the shell left unexpanded (``forms/**/*.yaml``)."""
    files: list[Path] = []
    problems: list[FormProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(form_files(path))
        elif path.exists():
            files.append(path)
        elif any(ch in raw for ch in "*?["):
            matched = sorted(Path(p) for p in glob.glob(raw, recursive=True) if Path(p).is_file())
            if not matched:
                problems.append(FormProblem(N_("No file matches this pattern."), {}, raw))
            files.extend(matched)
        else:
            problems.append(FormProblem(N_("The file does not exist."), {}, raw))
    unique: list[Path] = []
    for f in files:
        if f not in unique:
            unique.append(f)
    return unique, problems


def cmd_check(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit

    translate = _translate()
    files, problems = expand(args.paths)
    results: list[dict[str, Any]] = []
    locks: dict[Path, dict[str, str]] = {}
    for path in files:
        found: list[FormProblem] = []
        summary = None
        try:
            form = load_form(path)
            folder = path.parent
            if (folder / LOCK_NAME).exists():
                if folder not in locks:
                    locks[folder] = read_lock(folder)
                found.extend(check_release(form, locks[folder], str(folder / LOCK_NAME)))
            summary = f"{form.key} ({form.status}, {len(form.item_ids)} items)"
        except FormError as exc:
            found.extend(exc.problems)
        problems.extend(found)
        results.append(
            {
                "file": str(path),
                "ok": not found,
                "form": summary,
                "problems": [_problem_json(p, translate) for p in found],
            }
        )
    for p in problems:
        if not any(r["file"] == p.file for r in results):
            results.append(
                {
                    "file": p.file,
                    "ok": False,
                    "form": None,
                    "problems": [_problem_json(p, translate)],
                }
            )
    if args.json:
        emit(args, {"ok": not problems, "files": results})
    else:
        for r in results:
            if r["ok"]:
                print(f"ok  {r['file']}: {r['form']}")
        for p in problems:
            print(p.render(translate), file=sys.stderr)
        if problems:
            print(
                translate(N_("{count} problem(s) found.")).format(count=len(problems)),
                file=sys.stderr,
            )
    return ExitCode.CONFIG if problems else ExitCode.OK


def _problem_json(p: FormProblem, translate: Any) -> dict[str, Any]:
    return {
        "file": p.file,
        "line": p.line,
        "where": p.where,
        "message": translate(p.message).format(**p.params),
    }


def cmd_list(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit
    from fieldkit.i18n import current_language

    registry = FormRegistry.load(args.dir) if args.dir else FormRegistry.load()
    locale = current_language()
    rows = [
        {
            "id": f.id,
            "version": f.version,
            "status": f.status,
            "title": f.title.get(locale) or f.title.get(f.default_locale),
            "items": len(f.item_ids),
        }
        for f in registry.all()
    ]
    text = "\n".join(f"{r['id']:<28} {r['version']:<8} {r['status']:<8} {r['title']}" for r in rows)
    emit(args, rows, text)
    return ExitCode.OK


def cmd_lock(args: argparse.Namespace) -> int:
    from fieldkit.cli import emit

    folder = args.dir or shipped_forms_dir()
    forms = []
    problems: list[FormProblem] = []
    for path in form_files(folder):
        try:
            forms.append(load_form(path))
        except FormError as exc:
            problems.extend(exc.problems)
    if problems:
        raise FormError(problems)
    lock = read_lock(folder)
    for form in forms:
        if form.key in lock:
            problems.extend(check_release(form, lock, str(folder / LOCK_NAME)))
    if problems:
        raise FormError(problems)
    added = write_lock(folder, forms)
    emit(args, {"added": added}, "\n".join(f"locked {k}" for k in added) or "nothing to lock")
    return ExitCode.OK
