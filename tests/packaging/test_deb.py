"""The frozen app and its Debian package: built here (PyInstaller, then dpkg-deb through
installers/linux/build-deb.sh), checked with lintian, signed with a throwaway GPG key, verified
by installers/verify-release.sh, and tampered with.

The smoke test runs the frozen binary as the package installs it (/opt/fieldkit/fieldkit from
the .deb's own data), headless, under the real keyring: it creates an encrypted profile, opens
it again to add and list a case, prints its version, obeys a policy file in the package's
policy folder, and starts the desktop app offscreen."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from packaging_helpers import (
    INSTALLERS,
    ROOT,
    export_public_key,
    flip_byte,
    require_tools,
    run,
    throwaway_gpg_key,
)

import fieldkit
from fieldkit.config.settings import SETTINGS

# The module's fixtures build the frozen app and the package (minutes on a busy machine).
pytestmark = [pytest.mark.packaging_slow, pytest.mark.timeout(1800)]

PASSPHRASE = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def deb(frozen_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("dpkg-deb", "patchelf", "strip")
    out = tmp_path_factory.mktemp("deb")
    started = time.monotonic()
    run([INSTALLERS / "linux" / "build-deb.sh", frozen_app, fieldkit.__version__, out])
    print(f"\n.deb build: {time.monotonic() - started:.0f} s")
    (package,) = out.glob("fieldkit_*.deb")
    return package


@pytest.fixture(scope="module")
def installed(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's files as dpkg would install them, under a temporary root."""
    root = tmp_path_factory.mktemp("root")
    run(["dpkg-deb", "-x", deb, root])
    return root


@pytest.fixture(scope="module")
def release(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A release folder (the .deb, SHA256SUMS, SHA256SUMS.asc) and the public key."""
    require_tools("gpg", "gpgv", "sha256sum")
    base = tmp_path_factory.mktemp("release")
    home = base / "gnupg"
    fingerprint = throwaway_gpg_key(home)
    folder = base / "release"
    folder.mkdir()
    os.link(deb, folder / deb.name)
    run(
        [INSTALLERS / "sign-release.sh", folder],
        env={"GNUPGHOME": str(home), "FIELDKIT_GPG_KEY": fingerprint},
    )
    key = export_public_key(home, fingerprint, base / "fieldkit-release.asc")
    return {"folder": folder, "key": key, "deb": folder / deb.name}


def verify(
    release: dict[str, Path], folder: Path, *files: Path
) -> subprocess.CompletedProcess[str]:
    return run(
        [INSTALLERS / "verify-release.sh", "--key", release["key"], folder, *files], check=False
    )


def copy_release(release: dict[str, Path], dest: Path, *, deep: bool = False) -> Path:
    dest.mkdir()
    for item in release["folder"].iterdir():
        if deep or item.suffix != ".deb":
            shutil.copy(item, dest / item.name)
        else:
            os.link(item, dest / item.name)  # not modified by the test
    return dest


# --- the package --------------------------------------------------------------------------


def test_package_metadata_and_conffile(deb: Path) -> None:
    fields = run(["dpkg-deb", "-f", deb]).stdout
    assert re.search(r"^Package: fieldkit$", fields, re.M)
    assert re.search(rf"^Version: {re.escape(fieldkit.__version__)}$", fields, re.M)
    assert "libxcb-cursor0" in fields and "libc6" in fields
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    assert conffiles == ["/etc/fieldkit/fieldkit.toml"]


def test_package_layout(installed: Path) -> None:
    app = installed / "opt" / "fieldkit" / "fieldkit"
    assert app.is_file() and os.access(app, os.X_OK)
    link = installed / "usr" / "bin" / "fieldkit"
    assert link.is_symlink() and os.readlink(link) == "/opt/fieldkit/fieldkit"
    etc = installed / "etc" / "fieldkit"
    assert (etc / "fieldkit.toml").read_text() == (
        INSTALLERS / "linux" / "fieldkit.toml"
    ).read_text()
    assert (etc / "policies" / "managed").is_dir() and (etc / "policies" / "recommended").is_dir()
    schema = json.loads((installed / "usr/share/fieldkit/settings-v1.schema.json").read_text())
    assert set(schema["properties"]) == set(SETTINGS) | {"$schema"}
    assert (installed / "usr/share/doc/fieldkit/copyright").is_file()
    assert (installed / "usr/share/man/man1/fieldkit.1.gz").is_file()
    assert (installed / "usr/share/icons/hicolor/scalable/apps/fieldkit.svg").is_file()
    assert (installed / "usr/share/icons/hicolor/256x256/apps/fieldkit.png").is_file()
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(installed / "usr/share/applications/fieldkit.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"] == "fieldkit gui" and desktop["Icon"] == "fieldkit"
    assert desktop["Type"] == "Application" and "Comment[sv]" in desktop
    # the bundle carries what the app reads at run time
    internal = installed / "opt/fieldkit/_internal"
    assert (internal / "resources/locale/sv/LC_MESSAGES/fieldkit.mo").is_file()
    assert (internal / "forms/form.schema.json").is_file()
    assert list((internal / "fieldkit/storage/migrations").glob("*.sql"))
    assert list((internal / "sqlcipher3").glob("_sqlite3*.so"))
    platforms = {p.name for p in (internal / "PySide6/Qt/plugins/platforms").iterdir()}
    assert platforms == {"libqoffscreen.so", "libqxcb.so"}
    assert not list(internal.rglob("*WebEngine*"))
    assert not (internal / "fieldkit" / "server").exists()
    assert not (internal / "fastapi").exists() and not (internal / "sqlalchemy").exists()


def test_lintian_is_clean(deb: Path) -> None:
    require_tools("lintian")
    result = run(["lintian", "--tag-display-limit", "0", deb], check=False)
    tags = [line for line in result.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    assert result.returncode == 0 and tags == [], result.stdout + result.stderr


def test_depends_cover_the_system_libraries_the_bundle_links(deb: Path, installed: Path) -> None:
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    packages = {re.split(r"[\s(]", d.strip())[0] for d in depends.split(",")}
    # Libraries no bundled file carries are the system's: each must come from a Depends.
    not_found = {"libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1"}
    owners: set[str] = set()
    system: set[str] = set()
    internal = installed / "opt/fieldkit/_internal"
    # As at run time: PyInstaller's bootloader puts _internal first on the library path.
    search = {"LD_LIBRARY_PATH": f"{internal}:{internal / 'PySide6/Qt/lib'}"}
    for lib in [installed / "opt/fieldkit/fieldkit", *internal.rglob("*.so*")]:
        if lib.read_bytes()[:4] != b"\x7fELF":
            continue
        for line in run(["ldd", lib], check=False, env=search).stdout.splitlines():
            match = re.match(r"\s*(\S+) => (\S+)", line)
            if not match:
                continue
            name, where = match.groups()
            if where == "not":
                assert name in not_found, f"{lib.name} needs {name}, which nothing provides"
                owners.add(not_found[name])
            elif not where.startswith(str(installed)):
                system.add(os.path.realpath(where))
    assert system, "ldd found no system library at all"
    found = run(["dpkg", "-S", *sorted(system)], check=False).stdout
    owners |= {line.split(":")[0] for line in found.splitlines() if ":" in line}
    assert owners <= packages, owners - packages


# --- signatures and tampering -------------------------------------------------------------


def test_signed_release_verifies(release: dict[str, Path]) -> None:
    result = verify(release, release["folder"])
    assert result.returncode == 0, result.stderr
    assert "signature of SHA256SUMS: good" in result.stdout
    one = verify(release, release["folder"], release["deb"])
    assert one.returncode == 0, one.stderr


def test_one_changed_byte_in_the_package_fails_verification(
    release: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy_release(release, tmp_path / "r", deep=True)
    deb = folder / release["deb"].name
    flip_byte(deb, deb.stat().st_size // 2)
    for args in ((), (deb,)):
        result = verify(release, folder, *args)
        assert result.returncode == 1 and "FAILED" in result.stderr


def test_an_edited_checksum_list_fails_verification(
    release: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy_release(release, tmp_path / "r")
    sums = folder / "SHA256SUMS"
    text = sums.read_text()
    sums.write_text(text.replace(text[0], "0" if text[0] != "0" else "1", 1))
    result = verify(release, folder)
    assert result.returncode == 1 and "signature" in result.stderr


def test_a_damaged_signature_fails_verification(release: dict[str, Path], tmp_path: Path) -> None:
    folder = copy_release(release, tmp_path / "r")
    signature = folder / "SHA256SUMS.asc"
    lines = signature.read_text().splitlines()
    body = next(
        i for i, line in enumerate(lines) if line and not line.startswith("-----") and i > 1
    )
    lines[body] = ("B" if lines[body][0] != "B" else "C") + lines[body][1:]
    signature.write_text("\n".join(lines) + "\n")
    assert verify(release, folder).returncode == 1


def test_a_signature_by_another_key_fails_verification(
    release: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy_release(release, tmp_path / "r")
    home = tmp_path / "other-gnupg"
    other = throwaway_gpg_key(home, "someone else")
    (folder / "SHA256SUMS.asc").unlink()
    run(
        [INSTALLERS / "sign-release.sh", folder],
        env={"GNUPGHOME": str(home), "FIELDKIT_GPG_KEY": other},
    )
    result = verify(release, folder)
    assert result.returncode == 1 and "not valid for this key" in result.stderr


def test_a_missing_or_an_unlisted_file_fails_verification(
    release: dict[str, Path], tmp_path: Path
) -> None:
    extra = copy_release(release, tmp_path / "extra")
    (extra / "fieldkit-setup.exe").write_bytes(b"MZ not ours")
    result = verify(release, extra)
    assert result.returncode == 1 and "not covered" in result.stderr
    assert verify(release, extra, extra / "fieldkit-setup.exe").returncode == 1
    missing = copy_release(release, tmp_path / "missing")
    (missing / release["deb"].name).unlink()
    assert verify(release, missing).returncode == 1


# --- the frozen app, as installed ---------------------------------------------------------


def _frozen_env(tmp_path: Path, policy_root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FIELDKIT_PASSPHRASE": PASSPHRASE,
        "FIELDKIT_CONFIG_DIR": str(tmp_path / "config"),
        "FIELDKIT_LOG_DIR": str(tmp_path / "logs"),
        "FIELDKIT_CACHE_DIR": str(tmp_path / "cache"),
        "FIELDKIT_POLICY_ROOT": str(policy_root),
        "QT_QPA_PLATFORM": "offscreen",
    }


def _fieldkit(app: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(app), *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )


def test_frozen_app_creates_and_reopens_an_encrypted_profile(
    installed: Path, real_keyring: str, tmp_path: Path
) -> None:
    app = installed / "opt/fieldkit/fieldkit"
    policy_root = tmp_path / "etc-fieldkit"
    shutil.copytree(installed / "etc/fieldkit", policy_root)  # the package's own /etc/fieldkit
    env = _frozen_env(tmp_path, policy_root)
    profile = tmp_path / "profile"

    version = _fieldkit(app, env, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"fieldkit {fieldkit.__version__}"

    # A mandatory policy in the package's policy folder applies to the frozen app.
    managed = policy_root / "policies/managed/10-test.json"
    managed.write_text(json.dumps({"min_passphrase_length": 40}))
    refused = _fieldkit(app, env, "--data-dir", str(profile), "init", "--user", "anna")
    assert refused.returncode != 0 and "40" in refused.stderr
    assert not (profile / "vault.db").exists()
    managed.unlink()

    init = _fieldkit(
        app, env, "--data-dir", str(profile), "init", "--user", "anna", "--team", "Fält"
    )
    assert init.returncode == 0, init.stderr
    assert "Traceback" not in init.stderr
    header = (profile / "vault.db").read_bytes()[:16]
    assert header != b"SQLite format 3\x00"  # encrypted, not a plain SQLite file

    added = _fieldkit(
        app, env, "--data-dir", str(profile), "--json", "case", "add",
        "--type", "individual_at_risk", "--name", "Testperson Ett",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    case_id = json.loads(added.stdout)["case_id"]
    listed = _fieldkit(app, env, "--data-dir", str(profile), "--json", "case", "list")
    assert listed.returncode == 0, listed.stderr
    assert [row["case_id"] for row in json.loads(listed.stdout)] == [case_id]

    wrong = _fieldkit(
        app, {**env, "FIELDKIT_PASSPHRASE": "not the passphrase at all"},
        "--lang", "sv", "--data-dir", str(profile), "case", "list",
    )  # fmt: skip
    assert wrong.returncode != 0
    assert "Traceback" not in wrong.stderr and "Testperson" not in wrong.stderr + wrong.stdout
    assert re.search(r"[åäö]", wrong.stderr), wrong.stderr  # the compiled Swedish catalogue


def test_frozen_app_starts_the_desktop_app_offscreen(
    installed: Path, real_keyring: str, tmp_path: Path
) -> None:
    app = installed / "opt/fieldkit/fieldkit"
    env = _frozen_env(tmp_path, installed / "etc/fieldkit")
    profile = tmp_path / "profile"
    assert _fieldkit(app, env, "--data-dir", str(profile), "init", "--user", "anna").returncode == 0
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    process = subprocess.Popen(
        [str(app), "--data-dir", str(profile), "--passphrase-file", str(secret), "gui"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Qt, its offscreen platform plugin and the app's window come up and keep running.
        exited: int | None = process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        exited = None
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    assert exited is None, f"the desktop app exited at once ({exited}): {stderr}"
    assert "Traceback" not in stderr and "could not load the Qt platform plugin" not in stderr


def test_the_frozen_build_is_the_laptop_client_only(frozen_app: Path) -> None:
    assert (frozen_app / "fieldkit").is_file()
    assert not list(frozen_app.rglob("alembic*"))
    assert not list((frozen_app / "_internal").glob("libQt6WebEngine*"))
    spec = (INSTALLERS / "fieldkit.spec").read_text()
    assert "onefile" not in spec.lower().replace("one-file", "") and "upx=False" in spec
    assert (ROOT / "installers/requirements-build.txt").read_text().count("pyinstaller==") == 1
