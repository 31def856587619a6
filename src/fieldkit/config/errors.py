"""Errors of configuration: a bad value, an unknown key, a file that cannot be read, a setting
the organisation manages."""

from __future__ import annotations

from fieldkit.errors import ExitCode, FieldkitError, InvalidInput, Refused


class ConfigError(FieldkitError):
    """A configuration file or value is malformed."""

    exit_code = ExitCode.CONFIG
    code = "config_invalid"


class UnknownSetting(InvalidInput):
    code = "config_unknown_setting"


class InvalidSettingValue(InvalidInput):
    code = "config_invalid_value"


class SettingManaged(Refused):
    """The organisation's mandatory policy sets this value; the user cannot change it."""

    code = "config_managed"
