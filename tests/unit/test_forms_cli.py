"""`fieldkit forms check|list|lock`: exit 0 on the shipped forms, non-zero with file, item, line
and what is wrong on a broken copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fieldkit.cli import main
from fieldkit.errors import ExitCode
from fieldkit.forms.registry import shipped_forms_dir

ROOT = Path(__file__).resolve().parents[2]
FORMS = shipped_forms_dir()


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FIELDKIT_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "fieldkit", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_shipped_forms_check_with_the_shell_glob() -> None:
    # bash without globstar: ** acts like *; an unmatched pattern reaches the command as is
    command = f'"{sys.executable}" -m fieldkit forms check forms/**/*.yaml forms/*.yaml'
    result = subprocess.run(
        ["/bin/bash", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "FIELDKIT_LANG": "en"},
    )
    assert result.returncode == 0, result.stderr
    assert "ok  forms/fk.vbe.concern@1.0.0.yaml: fk.vbe.concern@1.0.0 (retired" in result.stdout
    assert "fk.vbe.concern@1.1.0 (retired, 57 items)" in result.stdout
    assert "fk.vbe.concern@1.2.0 (active, 57 items)" in result.stdout
    assert "fk.relatives.followup@1.0.0" in result.stdout


def test_broken_copy_names_file_item_line_and_problem(tmp_path: Path) -> None:
    source = (FORMS / "fk.vbe.concern@1.1.0.yaml").read_text(encoding="utf-8")
    broken = source.replace("{item: F3, in: [some, clear]}", "{item: F33, in: [some, clear]}")
    broken = broken.replace("en: 'Combines conspiracy", "fi: 'Combines conspiracy")
    assert broken != source
    path = tmp_path / "fk.vbe.concern@1.1.0.yaml"
    path.write_text(broken, encoding="utf-8")
    result = run("forms", "check", str(path))
    assert result.returncode == ExitCode.CONFIG
    line_f_urgent = next(n for n, text in enumerate(broken.splitlines(), 1) if "F33" in text)
    assert (
        f"{path}:{line_f_urgent}: section F_URGENT (when): The condition refers to item "
        "F33, which does not exist."
    ) in result.stderr
    assert "item B4 (label): The text has no 'en' translation." in result.stderr
    assert "item B4 (label.fi): There is a text in 'fi'" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_yaml_booleans_and_json_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (FORMS / "fk.relatives.followup@1.0.0.yaml").read_text(encoding="utf-8")
    path = tmp_path / "fk.relatives.followup@1.0.0.yaml"
    path.write_text(source.replace("{code: 'yes',", "{code: yes,"), encoding="utf-8")
    code = main(["--json", "forms", "check", str(path)])
    out = json.loads(capsys.readouterr().out)
    assert code == ExitCode.CONFIG and out["ok"] is False
    (problem,) = out["files"][0]["problems"]
    assert problem["where"] == "$.scales.yes_no_unknown[0].code"
    assert (
        problem["line"]
        == source.splitlines().index(next(x for x in source.splitlines() if "{code: 'yes'," in x))
        + 1
    )
    assert "yes is read by YAML as the boolean true" in problem["message"]


def test_changed_released_form_fails_check(tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    shutil.copytree(FORMS, folder)
    path = folder / "fk.vbe.concern@1.0.0.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Visst stöd", "Visst tecken"), encoding="utf-8"
    )
    result = run("forms", "check", str(folder))
    assert result.returncode == ExitCode.CONFIG
    assert "fk.vbe.concern@1.0.0 is released and its content has changed" in result.stderr
    assert "ok  " in result.stdout  # the other files are still checked and reported


def test_missing_files_and_patterns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forms", "check", "/nonexistent/x.yaml", "/nonexistent/*.yaml"]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "/nonexistent/x.yaml: The file does not exist." in err
    assert "/nonexistent/*.yaml: No file matches this pattern." in err


def test_swedish_messages(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("schema: fieldkit.form/1\nform: {}\nsections: []\nsections: []\n")
    result = run("--lang", "sv", "forms", "check", str(path))
    assert result.returncode == ExitCode.CONFIG
    assert "Nyckeln sections förekommer två gånger." in result.stderr


def test_forms_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "forms", "list"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["id"], r["version"], r["status"]) for r in rows} >= {
        ("fk.vbe.concern", "1.0.0", "retired"),
        ("fk.vbe.concern", "1.1.0", "retired"),
        ("fk.vbe.concern", "1.2.0", "active"),
        ("fk.relatives.followup", "1.0.0", "active"),
    }
    assert main(["--lang", "sv", "forms", "list"]) == 0
    assert "Oro för våldsbejakande extremism" in capsys.readouterr().out


def test_forms_lock_adds_new_releases_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "forms"
    shutil.copytree(FORMS, folder)
    source = (folder / "fk.relatives.followup@1.0.0.yaml").read_text(encoding="utf-8")
    (folder / "fk.relatives.followup@1.0.1.yaml").write_text(
        source.replace("version: 1.0.0", "version: 1.0.1").replace(
            "Kort uppföljning", "En kort uppföljning"
        ),
        encoding="utf-8",
    )
    assert main(["forms", "check", str(folder)]) == ExitCode.CONFIG  # released, not locked
    capsys.readouterr()
    assert main(["forms", "lock", str(folder)]) == 0
    assert "locked fk.relatives.followup@1.0.1" in capsys.readouterr().out
    assert main(["forms", "check", str(folder)]) == 0
    assert main(["forms", "lock", str(folder)]) == 0
    assert "nothing to lock" in capsys.readouterr().out
