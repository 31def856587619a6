"""Where fieldkit keeps things on this machine.

The per-user folders come from platformdirs (XDG on Linux, ``~/Library`` on macOS,
``%LOCALAPPDATA%``/``%APPDATA%`` on Windows). Each can be moved with an environment variable, which
is how the tests and the demo keep their data out of the user's real profile:

=====================  ==========================================
``FIELDKIT_DATA_DIR``   the profile (vault, key slots, profile.json)
``FIELDKIT_CONFIG_DIR`` the user's own settings (``settings.json``)
``FIELDKIT_CACHE_DIR``  disposable caches
``FIELDKIT_LOG_DIR``    the log files
``FIELDKIT_POLICY_ROOT`` the machine-wide root of install defaults and policies
=====================  ==========================================

Nothing here creates a folder except :func:`ensure_private_dir`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "fieldkit"
#: macOS preference domain (``/Library/Preferences/se.fieldkit.plist`` and managed preferences).
MACOS_DOMAIN = "se.fieldkit"
#: Windows registry keys under HKEY_LOCAL_MACHINE.
WINDOWS_INSTALL_KEY = r"SOFTWARE\fieldkit"
WINDOWS_POLICY_KEY = r"SOFTWARE\Policies\fieldkit"
WINDOWS_RECOMMENDED_KEY = r"SOFTWARE\Policies\fieldkit\Recommended"

USER_SETTINGS_FILE = "settings.json"
INSTALL_DEFAULTS_FILE = "fieldkit.toml"
LOG_FILE = "fieldkit.log"

ENV_DATA_DIR = "FIELDKIT_DATA_DIR"
ENV_CONFIG_DIR = "FIELDKIT_CONFIG_DIR"
ENV_CACHE_DIR = "FIELDKIT_CACHE_DIR"
ENV_LOG_DIR = "FIELDKIT_LOG_DIR"
ENV_POLICY_ROOT = "FIELDKIT_POLICY_ROOT"


def _from_env(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """The default profile folder (``FIELDKIT_DATA_DIR`` overrides it)."""
    return _from_env(ENV_DATA_DIR) or platformdirs.user_data_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    """The folder of the user's own settings (``FIELDKIT_CONFIG_DIR`` overrides it)."""
    return _from_env(ENV_CONFIG_DIR) or platformdirs.user_config_path(APP_NAME, appauthor=False)


def cache_dir() -> Path:
    return _from_env(ENV_CACHE_DIR) or platformdirs.user_cache_path(APP_NAME, appauthor=False)


def logs_dir() -> Path:
    return _from_env(ENV_LOG_DIR) or platformdirs.user_log_path(APP_NAME, appauthor=False)


def profile_dir(override: Path | str | None = None) -> Path:
    """The profile to use: an explicit folder (``--data-dir``) wins over the default."""
    if override is not None and str(override).strip():
        return Path(override).expanduser()
    return data_dir()


def user_settings_file() -> Path:
    return config_dir() / USER_SETTINGS_FILE


def default_log_file() -> Path:
    return logs_dir() / LOG_FILE


def system_sources_overridden() -> bool:
    """True when ``FIELDKIT_POLICY_ROOT`` is set: then the tree under it replaces every
    machine-wide source (files, and the registry or plists on Windows and macOS)."""
    return _from_env(ENV_POLICY_ROOT) is not None


def policy_root() -> Path:
    """Root of the machine-wide configuration files.

    ``/etc/fieldkit`` on Linux and macOS, ``%ProgramData%\\fieldkit`` on Windows;
    ``FIELDKIT_POLICY_ROOT`` overrides it."""
    override = _from_env(ENV_POLICY_ROOT)
    if override is not None:
        return override
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / APP_NAME
    return Path("/etc") / APP_NAME


def install_defaults_file() -> Path:
    return policy_root() / INSTALL_DEFAULTS_FILE


def recommended_policy_dir() -> Path:
    return policy_root() / "policies" / "recommended"


def managed_policy_dir() -> Path:
    return policy_root() / "policies" / "managed"


def macos_install_plist() -> Path:
    return Path("/Library/Preferences") / f"{MACOS_DOMAIN}.plist"


def macos_recommended_plist() -> Path:
    return Path("/Library/Preferences") / f"{MACOS_DOMAIN}.recommended.plist"


def macos_managed_plists() -> list[Path]:
    """Managed preferences written by an MDM profile: machine-wide, then the user's own."""
    base = Path("/Library/Managed Preferences")
    paths = [base / f"{MACOS_DOMAIN}.plist"]
    user = os.environ.get("USER")
    if user:
        paths.append(base / user / f"{MACOS_DOMAIN}.plist")
    return paths


def ensure_private_dir(path: Path) -> Path:
    """Create a folder (and its parents) readable by the user only; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32":
        with contextlib.suppress(OSError):  # a folder we do not own: leave its mode alone
            path.chmod(0o700)
    return path
