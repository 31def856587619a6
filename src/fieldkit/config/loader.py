"""The effective configuration: every setting resolved through five layers.

Lowest to highest (a higher layer wins for each key it sets):

1. built-in defaults (``fieldkit.config.settings``);
2. user settings: ``settings.json`` in the user config dir (what the app's settings page saves);
3. install defaults: ``/etc/fieldkit/fieldkit.toml``; on Windows ``HKLM\\SOFTWARE\\fieldkit``
   (written by the MSI); on macOS ``/Library/Preferences/se.fieldkit.plist``;
4. recommended policy: ``/etc/fieldkit/policies/recommended/*.json``; on Windows
   ``HKLM\\SOFTWARE\\Policies\\fieldkit\\Recommended``; on macOS
   ``/Library/Preferences/se.fieldkit.recommended.plist``;
5. mandatory policy: ``/etc/fieldkit/policies/managed/*.json``; on Windows
   ``HKLM\\SOFTWARE\\Policies\\fieldkit``; on macOS the managed preferences
   (``/Library/Managed Preferences/se.fieldkit.plist``). A value set here is *managed*: the app
   shows it as such and :func:`save_user_setting` refuses to change it.

``/etc/fieldkit`` is ``fieldkit.config.paths.policy_root()``; ``FIELDKIT_POLICY_ROOT`` moves it
and then also stands in for the registry and the plists, so tests run against a temporary tree.
Within a layer, files are read in name order and a later file wins.

A broken source never stops the app: a file that is not valid JSON/TOML, an unknown key or a
value of the wrong type is recorded in ``Config.problems`` with the file and the key, that
file (or that key) is ignored, and everything else still loads.
"""

from __future__ import annotations

import json
import os
import plistlib
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any
from xml.parsers.expat import ExpatError

from fieldkit.config import paths
from fieldkit.config.errors import ConfigError, SettingManaged
from fieldkit.config.settings import SETTINGS, Setting, setting, unknown_setting
from fieldkit.errors import N_, FieldkitError

IGNORED_KEYS = frozenset({"$schema", "$comment"})
_MISSING: Any = object()


class Layer(IntEnum):
    DEFAULT = 0
    USER = 1
    INSTALL = 2
    RECOMMENDED = 3
    MANAGED = 4


@dataclass(frozen=True)
class Source:
    """Where a resolved value came from: its layer and the file or registry key."""

    layer: Layer
    location: str

    def __str__(self) -> str:
        return f"{self.layer.name.lower()} ({self.location})"


BUILT_IN = Source(Layer.DEFAULT, "built-in")


@dataclass(frozen=True)
class Problem:
    """Something wrong in one configuration source. Unpacks as ``(file, key, message)``."""

    file: str
    key: str | None
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    remedy: str | None = None

    @property
    def message(self) -> str:
        return self.render("en")

    def render(self, language: str | None = None) -> str:
        from fieldkit.i18n import gettext_for

        translate = gettext_for(language)
        text = translate(self.msgid).format(**self.params)
        if self.remedy:
            text += " " + translate(self.remedy).format(**self.params)
        return text

    def __iter__(self) -> Iterator[Any]:
        return iter((self.file, self.key, self.message))

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"

    @classmethod
    def from_error(cls, file: str, key: str | None, error: FieldkitError) -> Problem:
        return cls(file, key, error.msgid, dict(error.params), error.remedy_msgid)


class Config:
    """The resolved settings. Read a value as ``config.auto_lock_minutes`` or
    ``config.get("auto_lock_minutes")``; ask ``is_managed``/``source`` where it came from."""

    # One annotation per setting, for type checkers; values come from __getattr__.
    server_url: str | None
    sync_interval_minutes: int
    allow_http_loopback: bool
    auto_lock_minutes: int
    lockout_limit: int
    wipe_on_lockout: bool
    min_passphrase_length: int
    argon2_target_seconds: float
    allow_insecure_keyring: bool
    recovery_public_key: str | None
    export_allowed: bool
    closed_case_retention_days: int
    keep_protected_identity_off_laptop: bool
    municipality_name: str
    unit_name: str
    language: str | None
    log_level: str

    def __init__(
        self,
        values: dict[str, Any],
        sources: dict[str, Source],
        problems: list[Problem] | None = None,
    ) -> None:
        self._values = dict(values)
        self._sources = dict(sources)
        self.problems: list[Problem] = list(problems or [])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in SETTINGS:
            raise AttributeError(name)
        return self._values[name]

    def get(self, name: str, default: Any = _MISSING) -> Any:
        """The value of a setting. An unknown name raises UnknownSetting (naming the closest
        known one) unless a ``default`` is given, as with a dict."""
        if name not in SETTINGS and default is not _MISSING:
            return default
        setting(name)
        return self._values[name]

    def source(self, name: str) -> Source:
        setting(name)
        return self._sources.get(name, BUILT_IN)

    def is_managed(self, name: str) -> bool:
        """Set by mandatory policy: shown as managed, and the user cannot change it."""
        return self.source(name).layer is Layer.MANAGED

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def managed(self) -> list[str]:
        return [name for name in SETTINGS if self.is_managed(name)]

    def describe(self) -> list[dict[str, Any]]:
        """One row per setting: name, value, layer, location, managed (for ``config show``)."""
        return [
            {
                "name": name,
                "value": self._values[name],
                "layer": self.source(name).layer.name.lower(),
                "location": self.source(name).location,
                "managed": self.is_managed(name),
            }
            for name in SETTINGS
        ]

    def __repr__(self) -> str:
        return f"Config({self._values!r}, problems={len(self.problems)})"


# --- reading the sources ------------------------------------------------------------------


@dataclass
class _Reader:
    problems: list[Problem] = field(default_factory=list)

    def problem(self, file: Path | str, key: str | None, msgid: str, **params: Any) -> None:
        self.problems.append(Problem(str(file), key, msgid, params))

    def json_file(self, path: Path) -> dict[str, Any] | None:
        text = self._read(path)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.problem(
                path,
                None,
                N_("The file is not valid JSON (line {line}, column {column})."),
                line=exc.lineno,
                column=exc.colno,
            )
            return None
        return self._object(path, data)

    def toml_file(self, path: Path) -> dict[str, Any] | None:
        text = self._read(path)
        if text is None:
            return None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.problem(path, None, N_("The file is not valid TOML ({detail})."), detail=str(exc))
            return None
        return self._object(path, data)

    def plist_file(self, path: Path) -> dict[str, Any] | None:
        try:
            data = plistlib.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problem(path, None, N_("The file cannot be read ({reason})."), reason=_reason(exc))
            return None
        except (plistlib.InvalidFileException, ValueError, ExpatError):
            self.problem(path, None, N_("The file is not a valid property list."))
            return None
        return self._object(path, data)

    def _read(self, path: Path) -> str | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problem(path, None, N_("The file cannot be read ({reason})."), reason=_reason(exc))
            return None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.problem(path, None, N_("The file is not UTF-8 text."))
            return None

    def _object(self, path: Path, data: Any) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.problem(path, None, N_("The file must hold one object of settings (key: value)."))
            return None
        return data


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _json_dir(directory: Path, reader: _Reader) -> Iterator[tuple[str, dict[str, Any]]]:
    # A policy folder that exists but cannot be listed must be reported, never skipped: the
    # organisation's mandatory settings would otherwise silently not apply.
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        reader.problem(directory, None, N_("This should be a folder of .json policy files."))
        return
    except OSError as exc:
        reader.problem(
            directory, None, N_("The folder cannot be read ({reason})."), reason=_reason(exc)
        )
        return
    for name in sorted(n for n in names if n.endswith(".json")):
        path = directory / name
        data = reader.json_file(path)
        if data is not None:
            yield str(path), data


def _registry_values(key_path: str, reader: _Reader) -> dict[str, Any] | None:
    """The values of a key under HKEY_LOCAL_MACHINE (Windows only)."""
    if sys.platform != "win32":
        return None
    import winreg

    location = f"HKLM\\{key_path}"
    try:
        # The 64-bit view, where the MSI and Group Policy write, whatever this Python's bitness.
        key = winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE, key_path, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY
        )
    except FileNotFoundError:
        return None
    except OSError as exc:
        reader.problem(
            location, None, N_("The registry key cannot be read ({reason})."), reason=_reason(exc)
        )
        return None
    values: dict[str, Any] = {}
    with key:
        index = 0
        while True:
            try:
                name, value, kind = winreg.EnumValue(key, index)
            except OSError:
                break
            index += 1
            values[name] = _registry_value(value, kind)
    return values


class RegistryText(str):
    """A REG_SZ value: text that the loader converts to the setting's type."""


class RegistryNumber(int):
    """A REG_DWORD/REG_QWORD value; 0 and 1 stand for false and true in a boolean setting."""


def _registry_value(value: Any, kind: int) -> Any:
    # REG_SZ = 1, REG_EXPAND_SZ = 2, REG_DWORD = 4, REG_QWORD = 11
    if kind in (1, 2):
        return RegistryText(value)
    if kind in (4, 11):
        return RegistryNumber(value)
    return value


def native_value(declared: Setting, raw: Any) -> Any:
    """A registry value as the setting's type (files carry typed values already)."""
    if isinstance(raw, RegistryText):
        return declared.from_text(raw)
    if isinstance(raw, RegistryNumber):
        if declared.type is bool and raw in (0, 1):
            return bool(raw)
        return int(raw)
    return raw


def _layers(reader: _Reader) -> Iterator[tuple[Layer, str, dict[str, Any]]]:
    native = not paths.system_sources_overridden()
    root_toml = paths.install_defaults_file()

    # install defaults
    if native and sys.platform == "darwin":
        data = reader.plist_file(paths.macos_install_plist())
        if data is not None:
            yield Layer.INSTALL, str(paths.macos_install_plist()), data
    if native and sys.platform == "win32":
        values = _registry_values(paths.WINDOWS_INSTALL_KEY, reader)
        if values is not None:
            yield Layer.INSTALL, f"HKLM\\{paths.WINDOWS_INSTALL_KEY}", values
    data = reader.toml_file(root_toml)
    if data is not None:
        yield Layer.INSTALL, str(root_toml), data

    # recommended policy
    if native and sys.platform == "darwin":
        data = reader.plist_file(paths.macos_recommended_plist())
        if data is not None:
            yield Layer.RECOMMENDED, str(paths.macos_recommended_plist()), data
    if native and sys.platform == "win32":
        values = _registry_values(paths.WINDOWS_RECOMMENDED_KEY, reader)
        if values is not None:
            yield Layer.RECOMMENDED, f"HKLM\\{paths.WINDOWS_RECOMMENDED_KEY}", values
    for location, data in _json_dir(paths.recommended_policy_dir(), reader):
        yield Layer.RECOMMENDED, location, data

    # mandatory policy
    if native and sys.platform == "darwin":
        for plist in paths.macos_managed_plists():
            data = reader.plist_file(plist)
            if data is not None:
                yield Layer.MANAGED, str(plist), data
    if native and sys.platform == "win32":
        values = _registry_values(paths.WINDOWS_POLICY_KEY, reader)
        if values is not None:
            yield Layer.MANAGED, f"HKLM\\{paths.WINDOWS_POLICY_KEY}", values
    for location, data in _json_dir(paths.managed_policy_dir(), reader):
        yield Layer.MANAGED, location, data


def load_config() -> Config:
    """Read every layer and resolve each setting. Never raises for a bad file: see
    ``Config.problems``."""
    reader = _Reader()
    values = {name: s.default for name, s in SETTINGS.items()}
    sources: dict[str, Source] = {}

    def apply(layer: Layer, location: str, data: dict[str, Any]) -> None:
        for key, raw in data.items():
            if key in IGNORED_KEYS:
                continue
            if key not in SETTINGS:
                reader.problems.append(Problem.from_error(location, key, unknown_setting(key)))
                continue
            declared = SETTINGS[key]
            try:
                values[key] = declared.validate(native_value(declared, raw))
            except FieldkitError as exc:
                reader.problems.append(Problem.from_error(location, key, exc))
                continue
            sources[key] = Source(layer, location)

    user_file = paths.user_settings_file()
    user = reader.json_file(user_file)
    if user is not None:
        apply(Layer.USER, str(user_file), user)
    for layer, location, data in _layers(reader):
        apply(layer, location, data)
    return Config(values, sources, reader.problems)


# --- the user's own settings --------------------------------------------------------------


def _read_user_file(path: Path) -> dict[str, Any]:
    reader = _Reader()
    data = reader.json_file(path)
    if reader.problems:
        problem = reader.problems[0]
        raise ConfigError(
            N_("Your settings file {file} is damaged, so it was not changed: {problem}"),
            N_("Correct or remove the file, then try again."),
            file=problem.file,
            problem=problem.message,
        )
    return data or {}


def _write_user_file(path: Path, data: dict[str, Any]) -> None:
    paths.ensure_private_dir(path.parent)
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_user_setting(name: str, value: Any) -> Config:
    """Save one of the user's own settings and return the configuration as it now resolves.

    Refuses (SettingManaged) a setting the mandatory policy sets. A setting that install
    defaults or the recommended policy set is saved but does not take effect while they set
    it: the returned ``Config.source(name)`` says which layer decides."""
    declared = setting(name)
    checked = declared.validate(value)
    current = load_config()
    if current.is_managed(name):
        raise SettingManaged(
            N_("{name} is set by your organisation's policy and cannot be changed here."),
            N_("Ask your IT department if it needs to be different."),
            name=name,
        )
    path = paths.user_settings_file()
    data = _read_user_file(path)
    data[name] = checked
    _write_user_file(path, data)
    return load_config()


def reset_user_setting(name: str) -> Config:
    """Remove the user's own value of a setting (the next layer down applies again)."""
    setting(name)
    path = paths.user_settings_file()
    data = _read_user_file(path)
    if name in data:
        del data[name]
        _write_user_file(path, data)
    return load_config()
