"""The layers of DESIGN.md section 2 hold: the core runs headless, Qt stays in fieldkit.ui, SQL
stays in storage and the server, the server never reaches into the client, and logging calls
use literal message templates (so case content can only travel as a redacted argument).

The import-linter contracts live in pyproject.toml ([tool.importlinter]); these tests run them,
prove they catch a violation, and add the checks import-linter cannot express."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "fieldkit"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

QT = ("PySide6", "shiboken6")
DB_DRIVERS = ("sqlite3", "sqlcipher3", "apsw", "psycopg", "psycopg2", "sqlalchemy", "alembic")
SQL_ALLOWED = ("storage", "server")
SQL_START = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "ALTER",
    "PRAGMA",
    "WITH",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "REPLACE",
    "VACUUM",
    "ATTACH",
)


def python_modules() -> Iterator[tuple[str, Path, ast.Module]]:
    """(dotted name, path, syntax tree) of every module of the fieldkit package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(SRC).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield ".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_roots(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every module a file imports (statically, or by importlib/__import__ with a literal)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield node.lineno, first.value


def run_lint_imports(cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


# --- headless core -------------------------------------------------------------------------


def test_importing_the_services_leaves_qt_unloaded() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import fieldkit.services\n"
        "assert 'PySide6' not in sys.modules\n"
        "for m in pkgutil.walk_packages(fieldkit.services.__path__, 'fieldkit.services.'):\n"
        "    importlib.import_module(m.name)\n"
        "for name in ('fieldkit.storage', 'fieldkit.sync', 'fieldkit.security', 'fieldkit.forms',\n"
        "             'fieldkit.reports', 'fieldkit.config', 'fieldkit.domain'):\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_the_exact_check_of_issue_2() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import fieldkit.services, sys; assert 'PySide6' not in sys.modules",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- import-linter --------------------------------------------------------------------------


def test_import_contracts_hold_on_the_tree() -> None:
    result = run_lint_imports(ROOT, SRC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to break on purpose."""
    shutil.copytree(
        PACKAGE, tmp_path / "src" / "fieldkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "code", "contract"),
    [
        ("domain/leak.py", "import fieldkit.storage\n", "Client layers"),
        ("storage/leak.py", "from fieldkit import services\n", "Client layers"),
        ("services/leak.py", "import fieldkit.ui\n", "Client layers"),
        ("config/leak.py", "import fieldkit.security\n", "Client layers"),
        ("services/leak.py", "from PySide6 import QtCore\n", "Only fieldkit.ui imports Qt"),
        ("server/leak.py", "import fieldkit.storage\n", "The server never imports"),
        ("server/leak.py", "import fieldkit.sync.engine\n", "The server never imports"),
        ("services/leak.py", "import fieldkit.server.leak2\n", "Nothing but the command line"),
        ("sync/leak.py", "import sqlalchemy\n", "Only the server imports the server stack"),
    ],
)
def test_the_contracts_catch_a_violation(
    tree_copy: Path, module: str, code: str, contract: str
) -> None:
    target = tree_copy / "src" / "fieldkit" / module
    target.write_text(code)
    (tree_copy / "src" / "fieldkit" / "server" / "leak2.py").write_text("")
    result = run_lint_imports(tree_copy, tree_copy / "src")
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert (
        any(contract in line for line in broken)
        or contract in result.stdout.split("Broken contracts")[-1]
    ), result.stdout


def test_the_contracts_hold_while_packages_are_missing_or_empty(tree_copy: Path) -> None:
    """Areas that do not exist yet, or hold only their __init__, break nothing."""
    package = tree_copy / "src" / "fieldkit"
    for name in ("ui", "cli", "reports", "sync", "server"):
        shutil.rmtree(package / name)
    for name in ("services", "storage", "security", "forms"):
        shutil.rmtree(package / name)
        (package / name).mkdir()
        (package / name / "__init__.py").write_text(f'"""fieldkit.{name}"""\n')
    (package / "__main__.py").unlink()
    result = run_lint_imports(tree_copy, tree_copy / "src")
    assert result.returncode == 0, result.stdout + result.stderr


# --- what import-linter cannot see ----------------------------------------------------------


def test_no_module_outside_fieldkit_ui_imports_qt() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path, tree in python_modules()
        if area(module) != "ui"
        for line, name in imported_roots(tree)
        if name.split(".")[0] in QT
    ]
    assert offenders == []


def _sql_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    elif isinstance(node, ast.BinOp):
        return _sql_literal(node.left)
    else:
        return False
    return text.lstrip().split(" ", 1)[0].upper().rstrip(";") in SQL_START


def test_sql_runs_only_in_storage_and_the_server() -> None:
    offenders: list[str] = []
    for module, path, tree in python_modules():
        if area(module) in SQL_ALLOWED:
            continue
        where = path.relative_to(ROOT)
        for line, name in imported_roots(tree):
            if name.split(".")[0] in DB_DRIVERS:
                offenders.append(f"{where}:{line} imports the database driver {name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany", "executescript")
                and node.args
                and _sql_literal(node.args[0])
            ):
                offenders.append(f"{where}:{node.lineno} executes SQL")
    assert offenders == []


def test_the_sql_scan_recognises_sql() -> None:
    """The scan above must be able to fail: it sees the usual ways of writing a statement."""
    samples = [
        'conn.execute("SELECT * FROM notes WHERE id = ?", (1,))',
        'cur.executemany("insert into t values (?)", rows)',
        "db.execute(f'UPDATE notes SET text = {x}')",
        'db.executescript("PRAGMA key = " + key)',
        'conn.execute("""\n  WITH x AS (SELECT 1) SELECT * FROM x""")',
    ]
    for sample in samples:
        call = ast.parse(sample).body[0].value  # type: ignore[attr-defined]
        assert _sql_literal(call.args[0]), sample
    harmless = ast.parse('executor.execute("sync now")').body[0].value  # type: ignore[attr-defined]
    assert not _sql_literal(harmless.args[0])


LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal"}


def _loggers(tree: ast.Module) -> set[str]:
    """Names bound to ``logging.getLogger(...)`` in a module (``log = logging.getLogger(...)``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "getLogger":
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def logging_calls_without_literal_template(tree: ast.Module) -> list[int]:
    loggers = _loggers(tree) | {"logging"}
    lines: list[int] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if not (isinstance(target, ast.Name) and target.id in loggers):
            continue
        method = node.func.attr
        if method not in LOG_METHODS and method != "log":
            continue
        args = node.args[1:] if method == "log" else node.args
        if not args:
            continue
        template = args[0]
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            lines.append(node.lineno)
    return lines


def test_client_log_messages_are_literal_templates() -> None:
    """The rule of fieldkit.config.logs: the message is a literal with %s placeholders; what
    varies goes in the arguments, where the content guard can redact it. (The server logs
    structured metadata of its own and is not scanned here.)"""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for module, path, tree in python_modules()
        if area(module) != "server"
        for line in logging_calls_without_literal_template(tree)
    ]
    assert offenders == [], "log with a literal template and %s arguments: " + ", ".join(offenders)


def test_the_logging_scan_recognises_a_formatted_message() -> None:
    tree = ast.parse(
        "import logging\n"
        "log = logging.getLogger(__name__)\n"
        "log.info('signed %s', note_id)\n"
        "log.info(f'signed {note.text}')\n"
        "log.warning('query ' + query)\n"
        "log.log(10, 'x {}'.format(name))\n"
        "logging.error(text)\n"
        "self.error(where, 'not a logger')\n"
    )
    assert logging_calls_without_literal_template(tree) == [4, 5, 6, 7]
