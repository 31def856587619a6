"""Helpers of the packaging tests (imported by their conftest and test modules)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALLERS = ROOT / "installers"
PYTHON = sys.executable
REQUIRE_REAL = os.environ.get("FIELDKIT_REQUIRE_REAL") == "1"


def missing_component(what: str) -> None:
    """Fail under `make test` (FIELDKIT_REQUIRE_REAL=1), skip with the reason otherwise (as
    tests/conftest.py does for PostgreSQL and the keyring)."""
    message = f"{what} is not available; run the tests with `make test`"
    if REQUIRE_REAL:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        missing_component("the packaging tools " + ", ".join(missing) + " (make system-deps)")


def run(
    args: list[str | Path], *, check: bool = True, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure the assertion shows its output."""
    merged = {**os.environ, "PY": PYTHON, **(env or {})}
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=merged, check=False, **kw
    )  # type: ignore[call-overload]
    if check:
        assert result.returncode == 0, (
            f"{args[0]} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result  # type: ignore[no-any-return]


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def signing_env(ca: Path) -> dict[str, str]:
    return {
        "FIELDKIT_SIGN_KEY": str(ca / "codesign.key"),
        "FIELDKIT_SIGN_CERT": str(ca / "codesign.pem"),
        "FIELDKIT_SIGN_CAFILE": str(ca / "ca.pem"),
    }


def throwaway_gpg_key(home: Path, name: str = "fieldkit TEST release (throwaway)") -> str:
    """Make a signing key in a private GNUPGHOME (deleted with the test's temp folder); return
    its fingerprint."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {"GNUPGHOME": str(home)}
    user_id = f"{name} <test@fieldkit.invalid>"
    args = ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", user_id, "ed25519", "sign"]
    run([*args, "1d"], env=env)
    listing = run(["gpg", "--batch", "--list-keys", "--with-colons"], env=env).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def export_public_key(home: Path, fingerprint: str, out: Path) -> Path:
    key = run(["gpg", "--batch", "--armor", "--export", fingerprint], env={"GNUPGHOME": str(home)})
    out.write_text(key.stdout)
    return out
