"""Every setting of the laptop app, declared once: name, type, default, description in English
and Swedish, and the values it accepts.

The same declarations drive the loader (``fieldkit.config.loader``), the settings page of the
app, the policy templates IT deploys (:func:`json_schema`) and ``docs/configuration.md``. To add
a setting, add one :class:`Setting` to :data:`SETTINGS` and its annotation on
``fieldkit.config.loader.Config``; a test checks they agree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from fieldkit.config.errors import InvalidSettingValue, UnknownSetting
from fieldkit.errors import N_


class Category(StrEnum):
    SECURITY = "security"
    SYNC = "sync"
    DATA = "data"
    ORGANISATION = "organisation"
    APPEARANCE = "appearance"
    DIAGNOSTICS = "diagnostics"


Check = Callable[[str, Any], None]  # raises InvalidSettingValue


@dataclass(frozen=True)
class Setting:
    name: str
    type: type  # bool, int, float or str
    default: Any
    description: str  # English
    description_sv: str
    category: Category
    nullable: bool = False  # None is a meaningful value ("not set", "follow the system")
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    check: Check | None = None
    # Whether a user may change it from the app (some only make sense set by IT).
    user_editable: bool = True

    def describe(self, language: str = "en") -> str:
        return self.description_sv if language == "sv" else self.description

    def validate(self, value: Any) -> Any:
        """The value as the app uses it, or InvalidSettingValue saying what is wrong."""
        name = self.name
        if self.nullable and isinstance(value, str) and not value.strip():
            value = None  # an emptied field means "not set"
        if value is None:
            if self.nullable:
                return None
            raise InvalidSettingValue(N_("{name} must have a value."), name=name)
        if self.type is bool:
            if not isinstance(value, bool):
                raise InvalidSettingValue(N_("{name} must be true or false."), name=name)
        elif self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidSettingValue(N_("{name} must be a whole number."), name=name)
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidSettingValue(N_("{name} must be a number."), name=name)
            value = float(value)
        elif self.type is str:
            if not isinstance(value, str):
                raise InvalidSettingValue(N_("{name} must be text."), name=name)
            if self.max_length is not None and len(value) > self.max_length:
                raise InvalidSettingValue(
                    N_("{name} is too long (at most {limit} characters)."),
                    name=name,
                    limit=self.max_length,
                )
        if self.choices is not None and value not in self.choices:
            raise InvalidSettingValue(
                N_("{name} must be one of: {choices}."),
                name=name,
                choices=", ".join(str(c) for c in self.choices),
            )
        if self.minimum is not None and value < self.minimum:
            raise InvalidSettingValue(
                N_("{name} must be at least {minimum}."), name=name, minimum=_num(self.minimum)
            )
        if self.maximum is not None and value > self.maximum:
            raise InvalidSettingValue(
                N_("{name} must be at most {maximum}."), name=name, maximum=_num(self.maximum)
            )
        if self.check is not None:
            self.check(name, value)
        return value

    def from_text(self, text: str) -> Any:
        """A value written as text (Windows registry REG_SZ, a command-line argument)."""
        raw = text.strip()
        if self.nullable and raw == "":
            return None
        if self.type is bool:
            lowered = raw.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise InvalidSettingValue(N_("{name} must be true or false."), name=self.name)
        if self.type is int:
            try:
                return int(raw)
            except ValueError:
                raise InvalidSettingValue(
                    N_("{name} must be a whole number."), name=self.name
                ) from None
        if self.type is float:
            try:
                return float(raw.replace(",", "."))
            except ValueError:
                raise InvalidSettingValue(N_("{name} must be a number."), name=self.name) from None
        return str(text)

    def json_schema(self) -> dict[str, Any]:
        json_type = {bool: "boolean", int: "integer", float: "number", str: "string"}[self.type]
        schema: dict[str, Any] = {
            "type": [json_type, "null"] if self.nullable else json_type,
            "default": self.default,
            "description": self.description,
            "x-description-sv": self.description_sv,
            "x-category": self.category.value,
            "x-user-editable": self.user_editable,
        }
        if self.choices is not None:
            schema["enum"] = [*self.choices, *([None, ""] if self.nullable else [])]
        if self.minimum is not None:
            schema["minimum"] = _num(self.minimum)
        if self.maximum is not None:
            schema["maximum"] = _num(self.maximum)
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        empty = r"^\s*$|" if self.nullable else ""
        if self.check is _check_url:
            schema["pattern"] = empty + r"^https?://[^\s/?#]+"
        if self.check is _check_public_key:
            schema["pattern"] = empty + r"^\s*-----BEGIN PUBLIC KEY-----"
        return schema


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
        raise InvalidSettingValue(
            N_("{name} must be a web address such as https://fieldkit.example.se."), name=name
        )


_PEM = re.compile(
    r"^-----BEGIN PUBLIC KEY-----\s+[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$", re.DOTALL
)


def _check_public_key(name: str, value: str) -> None:
    if not _PEM.match(value.strip()):
        raise InvalidSettingValue(
            N_("{name} must be a public key in PEM form (-----BEGIN PUBLIC KEY----- ...)."),
            name=name,
        )


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            name="server_url",
            type=str,
            default=None,
            description=(
                "Address of the municipality's fieldkit server (https://...). Empty: work offline "
                "only."
            ),
            description_sv=(
                "Adress till kommunens fieldkit-server (https://...). Tom: arbeta endast offline."
            ),
            category=Category.SYNC,
            nullable=True,
            max_length=2000,
            check=_check_url,
        ),
        Setting(
            name="sync_interval_minutes",
            type=int,
            default=5,
            description="Minutes between automatic synchronisations while online.",
            description_sv="Minuter mellan automatiska synkroniseringar när datorn är uppkopplad.",
            category=Category.SYNC,
            minimum=1,
            maximum=1440,
        ),
        Setting(
            name="allow_http_loopback",
            type=bool,
            default=False,
            description=(
                "Allow an unencrypted http:// server address on this computer only (127.0.0.1, "
                "localhost). For demonstrations and tests; never for real data."
            ),
            description_sv=(
                "Tillåt en okrypterad http://-serveradress enbart på den här datorn (127.0.0.1, "
                "localhost). För demonstrationer och tester, aldrig för riktiga uppgifter."
            ),
            category=Category.SYNC,
        ),
        Setting(
            name="auto_lock_minutes",
            type=int,
            default=5,
            description=(
                "Minutes without activity before the app locks itself and asks for the passphrase."
            ),
            description_sv="Minuter utan aktivitet innan appen låser sig och ber om lösenfrasen.",
            category=Category.SECURITY,
            minimum=1,
            maximum=240,
        ),
        Setting(
            name="lockout_limit",
            type=int,
            default=10,
            description="Wrong passphrases in a row before the profile is locked out.",
            description_sv="Antal felaktiga lösenfraser i följd innan profilen spärras.",
            category=Category.SECURITY,
            minimum=3,
            maximum=100,
            user_editable=False,
        ),
        Setting(
            name="wipe_on_lockout",
            type=bool,
            default=False,
            description=(
                "Erase the profile on this computer when it is locked out. Data not yet "
                "synchronised is lost."
            ),
            description_sv=(
                "Radera profilen på den här datorn när den spärras. Uppgifter som inte har "
                "synkroniserats går förlorade."
            ),
            category=Category.SECURITY,
            user_editable=False,
        ),
        Setting(
            name="min_passphrase_length",
            type=int,
            default=12,
            description="Shortest passphrase accepted, in characters.",
            description_sv="Kortaste godtagna lösenfras, i antal tecken.",
            category=Category.SECURITY,
            minimum=8,
            maximum=128,
            user_editable=False,
        ),
        Setting(
            name="argon2_target_seconds",
            type=float,
            default=0.5,
            description=(
                "Time the passphrase key derivation should take on this computer, in seconds "
                "(measured when the profile is created)."
            ),
            description_sv=(
                "Hur lång tid nyckelhärledningen från lösenfrasen ska ta på den här datorn, i "
                "sekunder (mäts när profilen skapas)."
            ),
            category=Category.SECURITY,
            minimum=0.1,
            maximum=10.0,
            user_editable=False,
        ),
        Setting(
            name="allow_insecure_keyring",
            type=bool,
            default=False,
            description=(
                "Allow a keyring that does not protect its secrets (plaintext or none). Only for "
                "development; the app warns while it is on."
            ),
            description_sv=(
                "Tillåt en nyckelring som inte skyddar sina hemligheter (klartext eller ingen). "
                "Endast för utveckling; appen varnar så länge det är påslaget."
            ),
            category=Category.SECURITY,
            user_editable=False,
        ),
        Setting(
            name="recovery_public_key",
            type=str,
            default=None,
            description=(
                "The organisation's recovery public key (PEM). When set, each profile's data key "
                "is also sealed to it so IT can recover a profile whose passphrase is lost."
            ),
            description_sv=(
                "Organisationens publika återställningsnyckel (PEM). När den är angiven förseglas "
                "varje profils datanyckel även med den, så att IT kan återställa en profil vars "
                "lösenfras har glömts bort."
            ),
            category=Category.SECURITY,
            nullable=True,
            max_length=10_000,
            check=_check_public_key,
            user_editable=False,
        ),
        Setting(
            name="export_allowed",
            type=bool,
            default=True,
            description=(
                "Allow exporting and printing case documents (PDF). Every export is logged."
            ),
            description_sv=(
                "Tillåt export och utskrift av ärendehandlingar (PDF). Varje export loggas."
            ),
            category=Category.DATA,
            user_editable=False,
        ),
        Setting(
            name="closed_case_retention_days",
            type=int,
            default=30,
            description=(
                "Days a closed case stays on this computer before its local copy is removed (it "
                "remains on the server)."
            ),
            description_sv=(
                "Antal dagar ett avslutat ärende finns kvar på den här datorn innan den lokala "
                "kopian tas bort (det finns kvar på servern)."
            ),
            category=Category.DATA,
            minimum=0,
            maximum=3650,
            user_editable=False,
        ),
        Setting(
            name="keep_protected_identity_off_laptop",
            type=bool,
            default=False,
            description=(
                "Keep cases of persons with protected identity on the server only; they are not "
                "stored on laptops."
            ),
            description_sv=(
                "Behåll ärenden som rör personer med skyddade personuppgifter enbart på servern; "
                "de lagras inte på bärbara datorer."
            ),
            category=Category.DATA,
            user_editable=False,
        ),
        Setting(
            name="municipality_name",
            type=str,
            default="",
            description="Name of the municipality, shown in the app and on exported documents.",
            description_sv="Kommunens namn, visas i appen och på exporterade handlingar.",
            category=Category.ORGANISATION,
            max_length=200,
            user_editable=False,
        ),
        Setting(
            name="unit_name",
            type=str,
            default="",
            description=(
                "Name of the unit (e.g. the field team), shown in the app and on exported "
                "documents."
            ),
            description_sv=(
                "Enhetens namn (t.ex. fältgruppen), visas i appen och på exporterade handlingar."
            ),
            category=Category.ORGANISATION,
            max_length=200,
            user_editable=False,
        ),
        Setting(
            name="language",
            type=str,
            default=None,
            description=(
                "Language of the app: sv (Swedish) or en (English). Empty: follow the computer's "
                "language."
            ),
            description_sv=(
                "Appens språk: sv (svenska) eller en (engelska). Tomt: följ datorns språk."
            ),
            category=Category.APPEARANCE,
            nullable=True,
            choices=("sv", "en"),
        ),
        Setting(
            name="log_level",
            type=str,
            default="warning",
            description=(
                "How much the app writes to its log: debug, info, warning or error. Logs never "
                "contain case content."
            ),
            description_sv=(
                "Hur mycket appen skriver i sin logg: debug, info, warning eller error. Loggen "
                "innehåller aldrig uppgifter ur ärenden."
            ),
            category=Category.DIAGNOSTICS,
            choices=("debug", "info", "warning", "error"),
        ),
    )
}


def setting(name: str) -> Setting:
    """The declaration of a setting, or UnknownSetting naming the closest known one."""
    try:
        return SETTINGS[name]
    except KeyError:
        raise unknown_setting(name) from None


def unknown_setting(name: str) -> UnknownSetting:
    close = difflib.get_close_matches(name, list(SETTINGS), n=1)
    if close:
        return UnknownSetting(
            N_("Unknown setting {name}."),
            N_("Did you mean {suggestion}?"),
            name=name,
            suggestion=close[0],
        )
    return UnknownSetting(
        N_("Unknown setting {name}."),
        N_("The known settings are listed in docs/configuration.md."),
        name=name,
    )


def defaults() -> dict[str, Any]:
    return {name: s.default for name, s in SETTINGS.items()}


SCHEMA_ID = "https://fieldkit.se/schemas/settings-v1.json"


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a settings or policy file: a flat object of known keys.

    Used for the policy templates IT deploys and for editor completion (``"$schema"`` in a
    policy file is allowed and ignored by the loader)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "fieldkit settings",
        "description": "Settings and policy of the fieldkit laptop app. Every key is optional.",
        "type": "object",
        "properties": {
            "$schema": {"type": "string"},
            **{name: s.json_schema() for name, s in SETTINGS.items()},
        },
        "additionalProperties": False,
    }
