"""Fixtures of the packaging tests: the system tools they drive, a throwaway test CA, the frozen
app (built once per session, or taken from FIELDKIT_FROZEN_DIR when `make package` has just
built it), and a helper that changes one byte of a file.

The tools (wixl, msitools, osslsigncode, gpg, dpkg-deb, lintian) are installed by
`make system-deps`; under `make test` a missing one fails the test, never skips it."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging_helpers import INSTALLERS, ROOT, missing_component, require_tools, run


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "packaging_slow: builds the frozen app with PyInstaller (minutes); "
        "`make package-check` (and CI) runs it",
    )


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and a code-signing certificate it issued (made now, never committed)."""
    require_tools("openssl")
    folder = tmp_path_factory.mktemp("test-ca") / "ca"
    run([INSTALLERS / "make-test-ca.sh", folder])
    return folder


@pytest.fixture(scope="session")
def frozen_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The frozen laptop app folder (dist/fieldkit): FIELDKIT_FROZEN_DIR if given (make package
    builds it first), else built now with installers/build-frozen.sh into a temporary folder."""
    given = os.environ.get("FIELDKIT_FROZEN_DIR")
    if given:
        folder = Path(given)
        assert (folder / "fieldkit").is_file(), f"FIELDKIT_FROZEN_DIR={given} has no fieldkit"
        yield folder
        return
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        missing_component(
            "PyInstaller (pip install -r installers/requirements-build.txt; make deps does)"
        )
    base = tmp_path_factory.mktemp("frozen")
    started = time.monotonic()
    run(
        [INSTALLERS / "build-frozen.sh"],
        env={"DIST": str(base / "dist"), "WORK": str(base / "work")},
        cwd=ROOT,
    )
    print(f"\nfrozen build: {time.monotonic() - started:.0f} s", file=sys.stderr)
    shutil.rmtree(base / "work", ignore_errors=True)
    yield base / "dist" / "fieldkit"
