"""Configuration layering against a temporary policy tree (FIELDKIT_POLICY_ROOT) and user
config dir (FIELDKIT_CONFIG_DIR): what IT sets, what the user sets, and what wins."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fieldkit.config import paths
from fieldkit.config.errors import InvalidSettingValue, SettingManaged, UnknownSetting
from fieldkit.config.loader import (
    Config,
    Layer,
    RegistryNumber,
    RegistryText,
    load_config,
    native_value,
    reset_user_setting,
    save_user_setting,
)
from fieldkit.config.settings import SETTINGS, json_schema, setting

PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VuAyEAq6UeLpQrVCEXHpS7f1v0FZl1pCdmsHwPOtH0P7yBXxw=\n"
    "-----END PUBLIC KEY-----\n"
)


class Tree:
    """A machine's configuration: /etc/fieldkit under ``root``, the user's config dir."""

    def __init__(self, root: Path, user_dir: Path) -> None:
        self.root = root
        self.user_dir = user_dir

    def user(self, data: dict[str, Any] | str) -> Path:
        return self._write(self.user_dir / "settings.json", data)

    def install(self, text: str) -> Path:
        return self._write(self.root / "fieldkit.toml", text)

    def recommended(self, name: str, data: dict[str, Any] | str) -> Path:
        return self._write(self.root / "policies" / "recommended" / name, data)

    def managed(self, name: str, data: dict[str, Any] | str) -> Path:
        return self._write(self.root / "policies" / "managed" / name, data)

    @staticmethod
    def _write(path: Path, data: dict[str, Any] | str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tree:
    root = tmp_path / "etc-fieldkit"
    user_dir = tmp_path / "user-config"
    monkeypatch.setenv("FIELDKIT_POLICY_ROOT", str(root))
    monkeypatch.setenv("FIELDKIT_CONFIG_DIR", str(user_dir))
    return Tree(root, user_dir)


# --- the declaration --------------------------------------------------------------------


REQUIRED = {
    "server_url": None,
    "auto_lock_minutes": 5,
    "lockout_limit": 10,
    "wipe_on_lockout": False,
    "export_allowed": True,
    "allow_insecure_keyring": False,
    "min_passphrase_length": 12,
    "recovery_public_key": None,
    "closed_case_retention_days": 30,
    "log_level": "warning",
    "language": None,
    "sync_interval_minutes": 5,
    "allow_http_loopback": False,
    "municipality_name": "",
    "unit_name": "",
    "keep_protected_identity_off_laptop": False,
    "argon2_target_seconds": 0.5,
}


def test_every_agreed_setting_is_declared_with_its_default() -> None:
    assert {name: SETTINGS[name].default for name in REQUIRED} == REQUIRED


def test_each_setting_is_described_in_english_and_swedish_and_typed_on_config() -> None:
    annotations = Config.__annotations__
    for name, declared in SETTINGS.items():
        assert declared.name == name
        assert declared.description.strip() and declared.description_sv.strip(), name
        assert declared.description != declared.description_sv, name
        assert name in annotations, f"Config has no annotation for {name}"
        assert declared.validate(declared.default) == declared.default, name
    assert set(annotations) - {"problems"} == set(SETTINGS)


def test_defaults_apply_when_nothing_is_configured(tree: Tree) -> None:
    config = load_config()
    assert config.problems == []
    assert config.auto_lock_minutes == 5
    assert config.get("server_url") is None
    assert config.source("auto_lock_minutes").layer is Layer.DEFAULT
    assert not config.is_managed("auto_lock_minutes")


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("auto_lock_minutes", "5", "must be a whole number"),
        ("auto_lock_minutes", True, "must be a whole number"),
        ("auto_lock_minutes", 5.5, "must be a whole number"),
        ("auto_lock_minutes", 0, "must be at least 1"),
        ("lockout_limit", 1000, "must be at most 100"),
        ("wipe_on_lockout", 1, "must be true or false"),
        ("wipe_on_lockout", "yes", "must be true or false"),
        ("argon2_target_seconds", "0.5", "must be a number"),
        ("log_level", "verbose", "must be one of: debug, info, warning, error"),
        ("language", "de", "must be one of: sv, en"),
        ("server_url", "fieldkit.kommun.se", "must be a web address"),
        ("server_url", "ftp://fieldkit.kommun.se", "must be a web address"),
        ("recovery_public_key", "not a key", "must be a public key in PEM form"),
        ("municipality_name", None, "must have a value"),
        ("municipality_name", "x" * 201, "too long"),
    ],
)
def test_a_wrong_value_is_refused_saying_what_is_expected(
    name: str, value: Any, complaint: str
) -> None:
    with pytest.raises(InvalidSettingValue) as caught:
        setting(name).validate(value)
    assert complaint in str(caught.value)
    assert name in str(caught.value)


def test_accepted_values_come_back_in_the_settings_type() -> None:
    assert setting("argon2_target_seconds").validate(1) == 1.0
    assert isinstance(setting("argon2_target_seconds").validate(1), float)
    assert setting("server_url").validate("https://fieldkit.kommun.se") == (
        "https://fieldkit.kommun.se"
    )
    assert setting("server_url").validate("http://127.0.0.1:8765") == "http://127.0.0.1:8765"
    assert setting("recovery_public_key").validate(PEM) == PEM
    assert setting("language").validate(None) is None
    # an emptied field of a setting that may be unset means "not set"
    assert setting("server_url").validate("  ") is None
    assert setting("language").validate("") is None
    assert setting("recovery_public_key").validate("") is None


def test_a_misspelt_setting_name_suggests_the_right_one() -> None:
    with pytest.raises(UnknownSetting) as caught:
        setting("auto_lock_minute")
    assert "auto_lock_minutes" in str(caught.value)


# --- the JSON Schema for policy templates --------------------------------------------


def test_the_schema_accepts_the_defaults_and_a_real_policy() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate({name: s.default for name, s in SETTINGS.items()})
    validator.validate(
        {
            "$schema": schema["$id"],
            "server_url": "https://fieldkit.kommun.se",
            "auto_lock_minutes": 3,
            "wipe_on_lockout": True,
            "recovery_public_key": PEM,
            "argon2_target_seconds": 1,
        }
    )
    validator.validate({"server_url": "", "language": "", "recovery_public_key": None})
    assert schema["properties"]["auto_lock_minutes"]["x-description-sv"]


@pytest.mark.parametrize(
    "policy",
    [
        {"auto_lock_minutes": "5"},
        {"auto_lock_minutes": 0},
        {"wipe_on_lockout": 1},
        {"log_level": "verbose"},
        {"language": "de"},
        {"server_url": "fieldkit.kommun.se"},
        {"auto_lock_minute": 5},
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(policy: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(policy)), policy
    ((key, value),) = policy.items()
    with pytest.raises((InvalidSettingValue, UnknownSetting)):
        setting(key).validate(value)


# --- layering ---------------------------------------------------------------------------


def test_a_managed_value_overrides_the_user_value_and_reports_itself_as_managed(
    tree: Tree,
) -> None:
    tree.user({"auto_lock_minutes": 30, "export_allowed": True})
    policy = tree.managed("10-security.json", {"auto_lock_minutes": 2, "export_allowed": False})
    config = load_config()
    assert config.auto_lock_minutes == 2
    assert config.export_allowed is False
    assert config.is_managed("auto_lock_minutes")
    assert config.source("auto_lock_minutes").layer is Layer.MANAGED
    assert config.source("auto_lock_minutes").location == str(policy)
    assert config.managed() == ["auto_lock_minutes", "export_allowed"]
    assert config.problems == []


def test_layers_apply_in_the_order_of_issue_2(tree: Tree) -> None:
    """built-in < user < install defaults < recommended < mandatory, key by key."""
    tree.user(
        {
            "sync_interval_minutes": 11,
            "lockout_limit": 11,
            "auto_lock_minutes": 11,
            "unit_name": "user",
        }
    )
    install = tree.install('lockout_limit = 22\nauto_lock_minutes = 22\nunit_name = "install"\n')
    recommended = tree.recommended("a.json", {"auto_lock_minutes": 33, "unit_name": "recommended"})
    managed = tree.managed("a.json", {"unit_name": "managed"})
    config = load_config()
    assert config.problems == []
    assert (config.sync_interval_minutes, config.source("sync_interval_minutes").layer) == (
        11,
        Layer.USER,
    )
    assert (config.lockout_limit, config.source("lockout_limit").location) == (22, str(install))
    assert (config.auto_lock_minutes, config.source("auto_lock_minutes").location) == (
        33,
        str(recommended),
    )
    assert (config.unit_name, config.source("unit_name").location) == ("managed", str(managed))
    assert config.source("min_passphrase_length").layer is Layer.DEFAULT
    assert [config.is_managed(n) for n in ("auto_lock_minutes", "lockout_limit", "unit_name")] == [
        False,
        False,
        True,
    ]


def test_recommended_policy_overrides_the_user_but_is_not_managed(tree: Tree) -> None:
    tree.user({"auto_lock_minutes": 30})
    tree.recommended("base.json", {"auto_lock_minutes": 10})
    config = load_config()
    assert config.auto_lock_minutes == 10
    assert config.source("auto_lock_minutes").layer is Layer.RECOMMENDED
    assert not config.is_managed("auto_lock_minutes")


def test_within_a_layer_files_apply_in_name_order(tree: Tree) -> None:
    tree.managed("20-unit.json", {"unit_name": "Fältgruppen Järva"})
    tree.managed(
        "10-municipality.json",
        {"unit_name": "Socialtjänsten", "municipality_name": "Stockholms stad"},
    )
    config = load_config()
    assert config.unit_name == "Fältgruppen Järva"
    assert config.municipality_name == "Stockholms stad"
    assert config.source("unit_name").location.endswith("20-unit.json")


def test_a_malformed_json_file_is_reported_by_name_and_the_rest_still_loads(tree: Tree) -> None:
    broken = tree.managed("10-broken.json", '{"auto_lock_minutes": 2,,}')
    tree.managed("20-good.json", {"export_allowed": False})
    tree.user({"auto_lock_minutes": 30})
    config = load_config()
    assert config.export_allowed is False
    assert config.auto_lock_minutes == 30  # the broken file is ignored as a whole
    assert len(config.problems) == 1
    file, key, message = config.problems[0]
    assert file == str(broken)
    assert key is None
    assert "not valid JSON" in message and "line 1" in message
    assert str(broken) in str(config.problems[0])


def test_an_unknown_key_is_named_and_the_other_keys_of_the_file_apply(tree: Tree) -> None:
    policy = tree.managed("p.json", {"auto_lock_minute": 2, "lockout_limit": 5})
    config = load_config()
    assert config.lockout_limit == 5 and config.is_managed("lockout_limit")
    assert config.auto_lock_minutes == 5
    [(file, key, message)] = config.problems
    assert (file, key) == (str(policy), "auto_lock_minute")
    assert "Unknown setting auto_lock_minute" in message
    assert "auto_lock_minutes" in message  # the suggestion


def test_a_value_of_the_wrong_type_is_named_and_the_lower_layer_applies(tree: Tree) -> None:
    tree.user({"wipe_on_lockout": True})
    policy = tree.managed("p.json", {"wipe_on_lockout": "yes", "lockout_limit": 5})
    config = load_config()
    assert config.wipe_on_lockout is True
    assert config.source("wipe_on_lockout").layer is Layer.USER
    assert config.lockout_limit == 5
    [(file, key, message)] = config.problems
    assert (file, key) == (str(policy), "wipe_on_lockout")
    assert "must be true or false" in message


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("[1, 2]", "one object of settings"),
        ("", "not valid JSON"),
        (b"\xff\xfe{", "not UTF-8"),
    ],
)
def test_other_broken_policy_files_are_reported(
    tree: Tree, content: str | bytes, complaint: str
) -> None:
    path = tree.recommended("x.json", "")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    [(file, key, message)] = load_config().problems
    assert file == str(path) and key is None and complaint in message


def test_a_malformed_toml_install_file_is_reported(tree: Tree) -> None:
    path = tree.install("auto_lock_minutes = = 3\n")
    config = load_config()
    assert config.auto_lock_minutes == 5
    [(file, _key, message)] = config.problems
    assert file == str(path) and "not valid TOML" in message


def test_a_corrupt_user_file_is_reported_and_policy_still_applies(tree: Tree) -> None:
    user = tree.user("{not json")
    tree.managed("p.json", {"export_allowed": False})
    config = load_config()
    assert config.export_allowed is False
    assert [p.file for p in config.problems] == [str(user)]


def test_an_unreadable_policy_file_is_reported(tree: Tree) -> None:
    path = tree.root / "policies" / "managed" / "p.json"
    path.mkdir(parents=True)  # a name that cannot be read as a file, even by root
    tree.managed("q.json", {"lockout_limit": 4})
    config = load_config()
    assert config.lockout_limit == 4
    [(file, _key, message)] = config.problems
    assert file == str(path) and "cannot be read" in message


def test_a_policy_folder_that_is_not_a_folder_is_reported(tree: Tree) -> None:
    (tree.root / "policies").mkdir(parents=True)
    (tree.root / "policies" / "managed").write_text('{"lockout_limit": 4}')
    config = load_config()
    assert config.lockout_limit == 10
    [(file, key, message)] = config.problems
    assert file == str(tree.root / "policies" / "managed") and key is None
    assert "folder of .json policy files" in message


def test_only_json_files_are_policy(tree: Tree) -> None:
    tree.managed("notes.txt", "lockout_limit = 4")
    tree.managed("p.json.bak", {"lockout_limit": 4})
    config = load_config()
    assert config.problems == [] and config.lockout_limit == 10


def test_plist_sources_are_read_with_their_types(tmp_path: Path) -> None:
    """The macOS sources are plists; their reader is the same on every system."""
    import plistlib

    from fieldkit.config.loader import _Reader

    path = tmp_path / "se.fieldkit.plist"
    path.write_bytes(plistlib.dumps({"wipe_on_lockout": True, "auto_lock_minutes": 3}))
    reader = _Reader()
    assert reader.plist_file(path) == {"wipe_on_lockout": True, "auto_lock_minutes": 3}
    assert reader.plist_file(tmp_path / "absent.plist") is None
    (tmp_path / "bad.plist").write_bytes(b"<plist><dict><key>x</key>")
    assert reader.plist_file(tmp_path / "bad.plist") is None
    assert [p.file for p in reader.problems] == [str(tmp_path / "bad.plist")]


def test_json_schema_key_in_a_policy_file_is_allowed(tree: Tree) -> None:
    tree.managed("p.json", {"$schema": json_schema()["$id"], "lockout_limit": 4})
    config = load_config()
    assert config.problems == [] and config.lockout_limit == 4


def test_problems_render_in_swedish(tree: Tree) -> None:
    tree.managed("p.json", {"lockout_limit": "fem"})
    [problem] = load_config().problems
    swedish = problem.render("sv")
    assert "lockout_limit" in swedish
    assert swedish != problem.message
    assert "heltal" in swedish


def test_registry_values_take_the_settings_type() -> None:
    assert native_value(setting("wipe_on_lockout"), RegistryNumber(1)) is True
    assert native_value(setting("wipe_on_lockout"), RegistryText("false")) is False
    assert native_value(setting("auto_lock_minutes"), RegistryText(" 15 ")) == 15
    assert native_value(setting("argon2_target_seconds"), RegistryText("0,75")) == 0.75
    assert native_value(setting("server_url"), RegistryText("")) is None
    assert type(native_value(setting("unit_name"), RegistryText("Fält"))) is str
    with pytest.raises(InvalidSettingValue):
        native_value(setting("auto_lock_minutes"), RegistryText("fem"))
    # a DWORD other than 0/1 for a boolean is a wrong value, not "true"
    with pytest.raises(InvalidSettingValue):
        setting("wipe_on_lockout").validate(
            native_value(setting("wipe_on_lockout"), RegistryNumber(2))
        )


# --- the user's own settings -------------------------------------------------------------


def test_a_user_setting_is_saved_privately_and_applies(tree: Tree) -> None:
    config = save_user_setting("auto_lock_minutes", 15)
    assert config.auto_lock_minutes == 15
    assert config.source("auto_lock_minutes").layer is Layer.USER
    path = tree.user_dir / "settings.json"
    assert json.loads(path.read_text()) == {"auto_lock_minutes": 15}
    assert stat.S_IMODE(tree.user_dir.stat().st_mode) == 0o700
    save_user_setting("language", "en")
    assert json.loads(path.read_text()) == {"auto_lock_minutes": 15, "language": "en"}
    assert reset_user_setting("auto_lock_minutes").auto_lock_minutes == 5
    assert json.loads(path.read_text()) == {"language": "en"}


def test_saving_a_managed_setting_is_refused_and_changes_nothing(tree: Tree) -> None:
    tree.user({"auto_lock_minutes": 15})
    tree.managed("p.json", {"auto_lock_minutes": 2})
    before = (tree.user_dir / "settings.json").read_text()
    with pytest.raises(SettingManaged) as caught:
        save_user_setting("auto_lock_minutes", 60)
    assert "auto_lock_minutes" in str(caught.value)
    assert "policy" in str(caught.value)
    assert (tree.user_dir / "settings.json").read_text() == before


def test_saving_a_setting_that_recommended_policy_sets_is_kept_but_not_effective(
    tree: Tree,
) -> None:
    tree.recommended("p.json", {"auto_lock_minutes": 3})
    config = save_user_setting("auto_lock_minutes", 20)
    assert config.auto_lock_minutes == 3
    assert config.source("auto_lock_minutes").layer is Layer.RECOMMENDED


def test_saving_a_bad_value_or_unknown_name_is_refused(tree: Tree) -> None:
    with pytest.raises(InvalidSettingValue):
        save_user_setting("auto_lock_minutes", -1)
    with pytest.raises(UnknownSetting):
        save_user_setting("autolock", 5)
    assert not (tree.user_dir / "settings.json").exists()


def test_saving_never_overwrites_a_damaged_settings_file(tree: Tree) -> None:
    path = tree.user('{"auto_lock_minutes": 15,')
    with pytest.raises(Exception, match="damaged") as caught:
        save_user_setting("language", "sv")
    assert str(path) in str(caught.value)
    assert path.read_text() == '{"auto_lock_minutes": 15,'


def test_saving_keeps_keys_this_version_does_not_know(tree: Tree) -> None:
    path = tree.user({"future_setting": 1})
    save_user_setting("language", "sv")
    assert json.loads(path.read_text()) == {"future_setting": 1, "language": "sv"}


def test_config_access_by_attribute_and_get_agree(tree: Tree) -> None:
    config = load_config()
    for name in SETTINGS:
        assert getattr(config, name) == config.get(name)
    with pytest.raises(AttributeError):
        _ = config.no_such_setting  # type: ignore[attr-defined]
    with pytest.raises(UnknownSetting):
        config.get("no_such_setting")
    assert config.get("no_such_setting", 7) == 7
    assert config.get("auto_lock_minutes", 7) == 5
    rows = {row["name"]: row for row in config.describe()}
    assert rows["auto_lock_minutes"] == {
        "name": "auto_lock_minutes",
        "value": 5,
        "layer": "default",
        "location": "built-in",
        "managed": False,
    }


# --- paths --------------------------------------------------------------------------------


def test_paths_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FIELDKIT_POLICY_ROOT", str(tmp_path / "etc"))
    assert paths.data_dir() == tmp_path / "data"
    assert paths.profile_dir(None) == tmp_path / "data"
    assert paths.profile_dir(tmp_path / "other") == tmp_path / "other"
    assert paths.managed_policy_dir() == tmp_path / "etc" / "policies" / "managed"
    assert paths.recommended_policy_dir() == tmp_path / "etc" / "policies" / "recommended"
    assert paths.install_defaults_file() == tmp_path / "etc" / "fieldkit.toml"
    assert paths.system_sources_overridden()


def test_default_paths_are_the_platform_folders_of_fieldkit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in (
        "FIELDKIT_DATA_DIR",
        "FIELDKIT_CONFIG_DIR",
        "FIELDKIT_CACHE_DIR",
        "FIELDKIT_LOG_DIR",
        "FIELDKIT_POLICY_ROOT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg/data")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/xdg/config")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg/cache")
    monkeypatch.setenv("XDG_STATE_HOME", "/xdg/state")
    assert paths.data_dir() == Path("/xdg/data/fieldkit")
    assert paths.config_dir() == Path("/xdg/config/fieldkit")
    assert paths.cache_dir() == Path("/xdg/cache/fieldkit")
    assert paths.logs_dir() == Path("/xdg/state/fieldkit/log")
    assert paths.policy_root() == Path("/etc/fieldkit")
    assert not paths.system_sources_overridden()


# --- the documentation ------------------------------------------------------------------------


def _documented() -> dict[str, list[str]]:
    doc = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    rows: dict[str, list[str]] = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`") and cells[0].strip("`") in SETTINGS:
            rows[cells[0].strip("`")] = cells
    return rows


def _doc_default(value: Any) -> str:
    if value is None:
        return "*(none)*"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def test_docs_list_every_setting_with_its_type_default_and_who_sets_it() -> None:
    rows = _documented()
    assert set(rows) == set(SETTINGS)
    for name, declared in SETTINGS.items():
        _key, type_, default, _accepted, app, _what = rows[name]
        json_type = {bool: "boolean", int: "integer", float: "number", str: "text"}[declared.type]
        assert type_ == json_type + (" or null" if declared.nullable else ""), name
        assert default == _doc_default(declared.default), name
        assert app == ("yes" if declared.user_editable else "no"), name
