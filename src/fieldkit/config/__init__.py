"""Configuration: where things live (``paths``), every setting declared once (``settings``),
the layering of defaults, user settings, install defaults and policy (``loader``), and logging
that never carries case content (``logs``).

config sits just above ``domain``: it imports nothing from storage, security, sync or the UI
(the security layer reads its values from a ``Config``, not the other way round)."""

from fieldkit.config.errors import ConfigError, InvalidSettingValue, SettingManaged, UnknownSetting
from fieldkit.config.loader import (
    Config,
    Layer,
    Problem,
    Source,
    load_config,
    reset_user_setting,
    save_user_setting,
)
from fieldkit.config.settings import SETTINGS, Setting, json_schema

__all__ = [
    "SETTINGS",
    "Config",
    "ConfigError",
    "InvalidSettingValue",
    "Layer",
    "Problem",
    "Setting",
    "SettingManaged",
    "Source",
    "UnknownSetting",
    "json_schema",
    "load_config",
    "reset_user_setting",
    "save_user_setting",
]
