"""The Windows MSI, built on Linux with wixl from installers/windows/fieldkit.wxs and
Authenticode-signed with osslsigncode by installers/windows/sign.sh, with a throwaway test CA
made for this run.

The payload is a small file set shaped like the frozen app: fieldkit.exe is a real Windows
PE executable (setuptools' 64-bit launcher stands in for the Windows build, which only a
Windows runner can make; the release workflow builds the MSI from that)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import setuptools
from packaging_helpers import INSTALLERS, ROOT, flip_byte, require_tools, run, signing_env

from fieldkit.config import paths
from fieldkit.config.loader import RegistryText, native_value
from fieldkit.config.settings import SETTINGS

WXS = INSTALLERS / "windows" / "fieldkit.wxs"
UPGRADE_CODE = re.search(r'UpgradeCode="([0-9A-F-]+)"', WXS.read_text()).group(1)  # type: ignore[union-attr]
PUBLIC = {
    "SERVER_URL": "server_url",
    "AUTO_LOCK_MINUTES": "auto_lock_minutes",
    "ALLOW_EXPORT": "export_allowed",
}
HKLM = "2"  # msidbRegistryRootLocalMachine


def table(msi: Path, name: str) -> list[dict[str, str]]:
    """An MSI table as rows of column -> value (msiinfo export)."""
    lines = run(["msiinfo", "export", msi, name]).stdout.replace("\r\n", "\n").split("\n")
    columns = lines[0].split("\t")
    return [dict(zip(columns, line.split("\t"), strict=False)) for line in lines[3:] if line]


def properties(msi: Path) -> dict[str, str]:
    return {row["Property"]: row["Value"] for row in table(msi, "Property")}


def make_payload(folder: Path) -> Path:
    launcher = Path(setuptools.__file__).parent / "cli-64.exe"
    (folder / "_internal" / "resources" / "styles").mkdir(parents=True)
    shutil.copy(launcher, folder / "fieldkit.exe")
    shutil.copy(
        ROOT / "resources" / "styles" / "fieldkit.qss",
        folder / "_internal" / "resources" / "styles",
    )
    shutil.copy(ROOT / "README.md", folder / "_internal")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, test_ca: Path) -> dict[str, Path]:
    """Payload with its executable signed, then the MSI (0.1.0 and 0.2.0) built and signed."""
    require_tools("wixl", "msiinfo", "msibuild", "msiextract", "osslsigncode")
    base = tmp_path_factory.mktemp("msi")
    payload = make_payload(base / "payload")
    env = signing_env(test_ca)
    run([INSTALLERS / "windows" / "sign.sh", payload / "fieldkit.exe"], env=env)
    out: dict[str, Path] = {"payload": payload}
    for version in ("0.1.0", "0.2.0"):
        msi = base / f"fieldkit-{version}.msi"
        run([INSTALLERS / "windows" / "build-msi.sh", payload, version, msi])
        run([INSTALLERS / "windows" / "sign.sh", msi], env=env)
        out[version] = msi
    return out


def test_signed_msi_verifies_against_the_test_ca(built: dict[str, Path], test_ca: Path) -> None:
    result = run(["osslsigncode", "verify", "-in", built["0.1.0"], "-CAfile", test_ca / "ca.pem"])
    assert "Signature verification: ok" in result.stdout
    assert "fieldkit TEST code signing" in result.stdout
    # and through the script's own verify mode
    run([INSTALLERS / "windows" / "sign.sh", "--verify", built["0.1.0"]], env=signing_env(test_ca))


def test_verification_needs_a_trusted_chain(built: dict[str, Path], tmp_path: Path) -> None:
    # A CA bundle that does not contain the test CA: the same signature is not trusted.
    other = tmp_path / "other-ca"
    run([INSTALLERS / "make-test-ca.sh", other])
    result = run(
        [INSTALLERS / "windows" / "sign.sh", "--verify", built["0.1.0"]],
        env={"FIELDKIT_SIGN_CAFILE": str(other / "ca.pem")},
        check=False,
    )
    assert result.returncode == 1
    assert "VERIFICATION FAILED" in result.stderr


@pytest.mark.parametrize("where", [b"{" + b"7D3C1E52", b"MSCF"], ids=["string-pool", "cabinet"])
def test_changing_one_byte_of_the_signed_msi_fails_verification(
    built: dict[str, Path], test_ca: Path, tmp_path: Path, where: bytes
) -> None:
    tampered = tmp_path / "fieldkit.msi"
    shutil.copy(built["0.1.0"], tampered)
    data = tampered.read_bytes()
    offset = data.index(where) + (300 if where == b"MSCF" else 3)  # inside the signed content
    flip_byte(tampered, offset)
    assert tampered.read_bytes() != data
    result = run(
        [INSTALLERS / "windows" / "sign.sh", "--verify", tampered],
        env=signing_env(test_ca),
        check=False,
    )
    assert result.returncode == 1, result.stdout
    direct = run(
        ["osslsigncode", "verify", "-in", tampered, "-CAfile", test_ca / "ca.pem"], check=False
    )
    assert direct.returncode != 0


def test_the_installed_executable_is_signed_and_tampering_with_it_is_detected(
    built: dict[str, Path], test_ca: Path, tmp_path: Path
) -> None:
    run(["msiextract", "-C", tmp_path, built["0.1.0"]])
    exe = tmp_path / "fieldkit" / "fieldkit.exe"
    assert (tmp_path / "fieldkit" / "_internal" / "resources" / "styles" / "fieldkit.qss").is_file()
    run([INSTALLERS / "windows" / "sign.sh", "--verify", exe], env=signing_env(test_ca))
    flip_byte(exe, exe.read_bytes().index(b"This program cannot be run"))
    result = run(
        [INSTALLERS / "windows" / "sign.sh", "--verify", exe],
        env=signing_env(test_ca),
        check=False,
    )
    assert result.returncode == 1


def test_property_table_per_machine_with_a_stable_upgrade_code(built: dict[str, Path]) -> None:
    first, second = properties(built["0.1.0"]), properties(built["0.2.0"])
    assert first["UpgradeCode"] == second["UpgradeCode"] == "{" + UPGRADE_CODE + "}"
    assert first["ProductVersion"] == "0.1.0" and second["ProductVersion"] == "0.2.0"
    assert first["ProductCode"] != second["ProductCode"]
    assert first["ALLUSERS"] == "1"  # per-machine
    assert first["ProductName"] == "fieldkit"
    secure = set(first["SecureCustomProperties"].split(";"))
    assert set(PUBLIC) <= secure  # passed to the elevated install
    assert {f"SAVED_{p}" for p in PUBLIC} <= secure
    summary = run(["msiinfo", "suminfo", built["0.1.0"]]).stdout
    assert "Template: x64;1033" in summary
    directories = {row["Directory"]: row for row in table(built["0.1.0"], "Directory")}
    assert directories["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"


def test_a_newer_version_replaces_an_older_one_and_a_downgrade_is_refused(
    built: dict[str, Path],
) -> None:
    upgrade = table(built["0.2.0"], "Upgrade")
    by_property = {row["ActionProperty"]: row for row in upgrade}
    older = by_property["WIX_UPGRADE_DETECTED"]
    assert older["UpgradeCode"] == "{" + UPGRADE_CODE + "}"
    assert older["VersionMax"] == "0.2.0" and not older["VersionMin"]
    newer = by_property["WIX_DOWNGRADE_DETECTED"]
    assert newer["VersionMin"] == "0.2.0"
    rows = table(built["0.2.0"], "InstallExecuteSequence")
    sequence = {row["Action"]: int(row["Sequence"]) for row in rows}
    assert "RemoveExistingProducts" in sequence and "FindRelatedProducts" in sequence
    conditions = [row["Condition"] for row in table(built["0.2.0"], "LaunchCondition")]
    assert "NOT WIX_DOWNGRADE_DETECTED" in conditions


def test_public_properties_write_the_settings_to_the_install_key_the_loader_reads(
    built: dict[str, Path],
) -> None:
    msi = built["0.1.0"]
    registry = table(msi, "Registry")
    components = {row["Component"]: row for row in table(msi, "Component")}
    install_key = paths.WINDOWS_INSTALL_KEY
    at_install_key = [r for r in registry if r["Key"].lower() == install_key.lower()]
    # Only setting names directly under HKLM\SOFTWARE\fieldkit (the loader reports anything
    # else there as an unknown setting); the MSI's bookkeeping lives in a subkey.
    assert {r["Name"] for r in at_install_key} == set(PUBLIC.values())
    assert all(r["Name"] in SETTINGS for r in at_install_key)
    for row in registry:
        assert row["Root"] == HKLM
        assert row["Key"].lower().startswith(install_key.lower())
    for prop, name in PUBLIC.items():
        (row,) = [r for r in at_install_key if r["Name"] == name]
        assert row["Value"] == f"[{prop}]"
        component = components[row["Component_"]]
        assert component["Condition"] == prop  # nothing is written when the property is not given
        assert int(component["Attributes"]) & 256  # 64-bit component: the 64-bit registry view


@pytest.mark.parametrize(
    ("prop", "given", "expected"),
    [
        ("SERVER_URL", "https://fieldkit.example-kommun.se", "https://fieldkit.example-kommun.se"),
        ("AUTO_LOCK_MINUTES", "3", 3),
        ("ALLOW_EXPORT", "0", False),
        ("ALLOW_EXPORT", "false", False),
        ("ALLOW_EXPORT", "1", True),
    ],
)
def test_what_msiexec_writes_is_read_back_as_the_setting(
    prop: str, given: str, expected: object
) -> None:
    # The MSI writes REG_SZ text (Type="string"); the loader converts it to the setting's type.
    setting = SETTINGS[PUBLIC[prop]]
    assert setting.validate(native_value(setting, RegistryText(given))) == expected


def test_install_defaults_survive_an_upgrade_without_properties(built: dict[str, Path]) -> None:
    msi = built["0.2.0"]
    locators = {row["Signature_"]: row for row in table(msi, "RegLocator")}
    searches = {row["Property"]: locators[row["Signature_"]] for row in table(msi, "AppSearch")}
    actions = {row["Action"]: row for row in table(msi, "CustomAction")}
    for prop, name in PUBLIC.items():
        search = searches[f"SAVED_{prop}"]
        assert (search["Root"], search["Key"], search["Name"]) == (
            HKLM,
            paths.WINDOWS_INSTALL_KEY,
            name,
        )
        assert int(search["Type"]) & 16  # the 64-bit registry view
        (keep,) = [a for a in actions.values() if a["Source"] == prop]
        assert (
            keep["Type"] == "51" and keep["Target"] == f"[SAVED_{prop}]"
        )  # immediate set-property
        for sequence_table in ("InstallExecuteSequence", "InstallUISequence"):
            sequence = {row["Action"]: row for row in table(msi, sequence_table)}
            step = sequence[keep["Action"]]
            assert int(sequence["AppSearch"]["Sequence"]) < int(step["Sequence"])
            assert int(step["Sequence"]) < int(sequence["CostInitialize"]["Sequence"])
            assert step["Condition"] == f"SAVED_{prop} AND NOT {prop}"  # a given value wins
