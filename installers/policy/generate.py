"""Generate the policy templates IT deploys from the one declaration of the settings.

    .venv/bin/python installers/policy/generate.py           # (re)write the templates
    .venv/bin/python installers/policy/generate.py --check   # exit 1 if a committed file differs

Everything comes from ``fieldkit.config.settings`` (names, types, defaults, limits, choices,
English and Swedish descriptions), so the templates cannot drift from what the app reads:

- ``windows/fieldkit.admx`` with ``windows/en-US/fieldkit.adml`` and ``windows/sv-SE/fieldkit.adml``
  (Group Policy / Intune ADMX ingestion): every setting twice, as a mandatory policy under
  ``HKLM\\Software\\Policies\\fieldkit`` and as a recommended one under
  ``HKLM\\Software\\Policies\\fieldkit\\Recommended`` (the keys ``fieldkit.config.loader`` reads);
- ``linux/settings-v1.schema.json``: the JSON Schema of the policy files in
  ``/etc/fieldkit/policies/{managed,recommended}/*.json`` (``fieldkit.config.json_schema()``);
- ``macos/se.fieldkit.mobileconfig``: an example configuration profile for the managed
  preferences domain ``se.fieldkit``;
- ``../linux/fieldkit.toml``: the install defaults file the .deb ships as a conffile, every key
  present and commented out.

The only text not in settings.py is a short title per setting and category (TITLES,
CATEGORY_TITLES): the generator refuses to run when a setting has none.
"""

from __future__ import annotations

import argparse
import json
import plistlib
import sys
import uuid
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fieldkit.config import paths  # noqa: E402
from fieldkit.config.settings import SETTINGS, Category, Setting, json_schema  # noqa: E402

POLICY_KEY = "Software\\Policies\\fieldkit"
assert POLICY_KEY.lower() == paths.WINDOWS_POLICY_KEY.lower()
RECOMMENDED_KEY = POLICY_KEY + "\\Recommended"
assert RECOMMENDED_KEY.lower() == paths.WINDOWS_RECOMMENDED_KEY.lower()
NAMESPACE = "fieldkit.Policies.fieldkit"
PREFIX = "fieldkit"
REVISION = "1.0"
MACOS_DOMAIN = paths.MACOS_DOMAIN
UUID_NS = uuid.UUID("6f1e4b8e-2c3a-5d7f-9a0b-1c2d3e4f5a6b")

# Short titles (the descriptions come from settings.py). English, Swedish.
TITLES: dict[str, tuple[str, str]] = {
    "server_url": ("Server address", "Serveradress"),
    "sync_interval_minutes": (
        "Synchronisation interval (minutes)",
        "Synkroniseringsintervall (minuter)",
    ),
    "allow_http_loopback": (
        "Allow unencrypted http:// to this computer only",
        "Tillåt okrypterad http:// enbart till den här datorn",
    ),
    "auto_lock_minutes": ("Automatic lock (minutes)", "Automatisk låsning (minuter)"),
    "lockout_limit": ("Wrong passphrases before lockout", "Felaktiga lösenfraser innan spärr"),
    "wipe_on_lockout": ("Erase the profile on lockout", "Radera profilen vid spärr"),
    "min_passphrase_length": ("Minimum passphrase length", "Minsta längd på lösenfras"),
    "argon2_target_seconds": (
        "Key derivation time (seconds)",
        "Tid för nyckelhärledning (sekunder)",
    ),
    "allow_insecure_keyring": ("Allow an insecure keyring", "Tillåt en osäker nyckelring"),
    "recovery_public_key": ("Recovery public key", "Publik återställningsnyckel"),
    "export_allowed": ("Allow export and printing", "Tillåt export och utskrift"),
    "closed_case_retention_days": (
        "Days closed cases stay on the computer",
        "Dagar som avslutade ärenden finns kvar på datorn",
    ),
    "keep_protected_identity_off_laptop": (
        "Keep protected identities off laptops",
        "Håll skyddade personuppgifter borta från bärbara datorer",
    ),
    "municipality_name": ("Municipality name", "Kommunens namn"),
    "unit_name": ("Unit name", "Enhetens namn"),
    "language": ("Language", "Språk"),
    "log_level": ("Log level", "Loggnivå"),
}

CATEGORY_TITLES: dict[Category, tuple[str, str]] = {
    Category.SECURITY: ("Security", "Säkerhet"),
    Category.SYNC: ("Synchronisation", "Synkronisering"),
    Category.DATA: ("Data and export", "Uppgifter och export"),
    Category.ORGANISATION: ("Organisation", "Organisation"),
    Category.APPEARANCE: ("Language", "Språk"),
    Category.DIAGNOSTICS: ("Diagnostics", "Felsökning"),
}

CHOICE_TITLES: dict[str, tuple[str, str]] = {
    "sv": ("Swedish", "Svenska"),
    "en": ("English", "Engelska"),
    "debug": ("debug (most detail)", "debug (mest detaljer)"),
    "info": ("info", "info"),
    "warning": ("warning", "warning (varningar)"),
    "error": ("error (errors only)", "error (endast fel)"),
}

TEXT = {
    "root": ("fieldkit", "fieldkit"),
    "root_recommended": (
        "fieldkit – recommended (users can change)",
        "fieldkit – rekommenderat (användaren kan ändra)",
    ),
    "supported": ("fieldkit 0.1 or later", "fieldkit 0.1 eller senare"),
    "admx_description": (
        "Settings of the fieldkit laptop app. Mandatory policies lock the setting; recommended "
        "policies set it while leaving the user free to change it.",
        "Inställningar för fieldkit-appen på bärbara datorer. Obligatoriska principer låser "
        "inställningen; rekommenderade principer anger den men låter användaren ändra den.",
    ),
    "default": ("Default: {value}.", "Standardvärde: {value}."),
    "range": ("Accepted: {minimum} to {maximum}.", "Tillåtet: {minimum} till {maximum}."),
    "max_length": ("At most {limit} characters.", "Högst {limit} tecken."),
    "not_set": ("not set", "inte angivet"),
    "empty": ("empty", "tomt"),
    "true": ("enabled", "på"),
    "false": ("disabled", "av"),
    "registry": ("Registry value: {key}\\{name}.", "Registervärde: {key}\\{name}."),
    "mandatory_note": (
        "Enabled: the value is set and the user cannot change it. Disabled or not configured: "
        "this policy does not set it.",
        "Aktiverad: värdet anges och användaren kan inte ändra det. Inaktiverad eller inte "
        "konfigurerad: principen anger inte värdet.",
    ),
    "mandatory_note_bool": (
        "Enabled or disabled: the setting is turned on or off and the user cannot change it. "
        "Not configured: this policy does not set it.",
        "Aktiverad eller inaktiverad: inställningen slås på eller av och användaren kan inte "
        "ändra den. Inte konfigurerad: principen anger inte värdet.",
    ),
    "recommended_note": (
        "Recommended: the value applies unless a mandatory policy sets it; it overrides the "
        "user's own setting but is not shown as locked.",
        "Rekommenderat: värdet gäller om ingen obligatorisk princip anger det; det går före "
        "användarens egen inställning men visas inte som låst.",
    ),
    "decimal_comma": (
        "Write a decimal number with a point or a comma (e.g. 0.5).",
        "Skriv ett decimaltal med punkt eller komma (t.ex. 0,5).",
    ),
    "pem_one_line": (
        "Paste the PEM on one line; line breaks may be replaced by spaces.",
        "Klistra in PEM-texten på en rad; radbrytningar kan ersättas med mellanslag.",
    ),
}

LANGS = {"en-US": 0, "sv-SE": 1}


def _missing_titles() -> list[str]:
    return [name for name in SETTINGS if name not in TITLES]


def _value_text(value: Any, lang: int) -> str:
    if value is None:
        return TEXT["not_set"][lang]
    if value is True:
        return TEXT["true"][lang]
    if value is False:
        return TEXT["false"][lang]
    if value == "":
        return TEXT["empty"][lang]
    if isinstance(value, float) and lang == 1:
        return str(value).replace(".", ",")
    return str(value)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def explain(s: Setting, lang: int, recommended: bool) -> str:
    parts = [s.describe("sv" if lang else "en"), ""]
    parts.append(TEXT["default"][lang].format(value=_value_text(s.default, lang)))
    if s.minimum is not None and s.maximum is not None:
        minimum, maximum = _num(s.minimum), _num(s.maximum)
        if lang == 1:
            minimum, maximum = minimum.replace(".", ","), maximum.replace(".", ",")
        parts.append(TEXT["range"][lang].format(minimum=minimum, maximum=maximum))
    if s.max_length is not None and s.choices is None:
        parts.append(TEXT["max_length"][lang].format(limit=s.max_length))
    if s.type is float:
        parts.append(TEXT["decimal_comma"][lang])
    if s.name == "recovery_public_key":
        parts.append(TEXT["pem_one_line"][lang])
    parts.append("")
    if recommended:
        parts.append(TEXT["recommended_note"][lang])
    else:
        parts.append(TEXT["mandatory_note_bool" if s.type is bool else "mandatory_note"][lang])
    key = RECOMMENDED_KEY if recommended else POLICY_KEY
    parts.append(TEXT["registry"][lang].format(key="HKLM\\" + key, name=s.name))
    return "\n".join(parts)


# --- ADMX ---------------------------------------------------------------------------------


def _policy_id(name: str, recommended: bool) -> str:
    return f"{name}_recommended" if recommended else name


def _category_id(category: Category, recommended: bool) -> str:
    return f"cat_{category.value}" + ("_recommended" if recommended else "")


def admx() -> str:
    out: list[str] = []
    w = out.append
    w('<?xml version="1.0" encoding="utf-8"?>')
    w("<!-- Generated by installers/policy/generate.py from fieldkit.config.settings. -->")
    w("<!-- Do not edit by hand: run the generator. -->")
    w(
        '<policyDefinitions xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'revision="{REVISION}" schemaVersion="1.0" '
        'xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">'
    )
    w("  <policyNamespaces>")
    w(f'    <target prefix="{PREFIX}" namespace="{NAMESPACE}" />')
    w('    <using prefix="windows" namespace="Microsoft.Policies.Windows" />')
    w("  </policyNamespaces>")
    w('  <resources minRequiredRevision="1.0" />')
    w("  <supportedOn>")
    w("    <definitions>")
    w('      <definition name="SUPPORTED_FIELDKIT" displayName="$(string.SUPPORTED_FIELDKIT)" />')
    w("    </definitions>")
    w("  </supportedOn>")
    w("  <categories>")
    w('    <category name="fieldkit" displayName="$(string.cat_root)" />')
    w('    <category name="fieldkit_recommended" displayName="$(string.cat_root_recommended)" />')
    for recommended in (False, True):
        parent = "fieldkit_recommended" if recommended else "fieldkit"
        for category in Category:
            cid = _category_id(category, recommended)
            w(f'    <category name="{cid}" displayName="$(string.cat_{category.value})">')
            w(f'      <parentCategory ref="{parent}" />')
            w("    </category>")
    w("  </categories>")
    w("  <policies>")
    for recommended in (False, True):
        key = RECOMMENDED_KEY if recommended else POLICY_KEY
        for s in SETTINGS.values():
            pid = _policy_id(s.name, recommended)
            head = (
                f'    <policy name="{pid}" class="Machine" displayName="$(string.{s.name})" '
                f'explainText="$(string.{pid}_Explain)" key="{escape(key)}"'
            )
            if s.type is bool:
                w(head + f' valueName="{s.name}">')
                w(f'      <parentCategory ref="{_category_id(s.category, recommended)}" />')
                w('      <supportedOn ref="SUPPORTED_FIELDKIT" />')
                w('      <enabledValue><decimal value="1" /></enabledValue>')
                w('      <disabledValue><decimal value="0" /></disabledValue>')
                w("    </policy>")
                continue
            w(head + f' presentation="$(presentation.{pid})">')
            w(f'      <parentCategory ref="{_category_id(s.category, recommended)}" />')
            w('      <supportedOn ref="SUPPORTED_FIELDKIT" />')
            w("      <elements>")
            if s.type is int:
                w(
                    f'        <decimal id="{s.name}" valueName="{s.name}" required="true" '
                    f'minValue="{_num(s.minimum or 0)}" maxValue="{_num(s.maximum or 2**31)}" />'
                )
            elif s.choices is not None:
                w(f'        <enum id="{s.name}" valueName="{s.name}" required="true">')
                for choice in s.choices:
                    w(f'          <item displayName="$(string.choice_{choice})">')
                    w(f"            <value><string>{escape(str(choice))}</string></value>")
                    w("          </item>")
                w("        </enum>")
            else:  # text, and the one number setting (REG_SZ with . or ,)
                limit = s.max_length or 64
                required = "false" if s.nullable else "true"
                w(
                    f'        <text id="{s.name}" valueName="{s.name}" maxLength="{limit}" '
                    f'required="{required}" />'
                )
            w("      </elements>")
            w("    </policy>")
    w("  </policies>")
    w("</policyDefinitions>")
    return "\n".join(out) + "\n"


def adml(lang_tag: str) -> str:
    lang = LANGS[lang_tag]
    strings: list[tuple[str, str]] = [
        ("SUPPORTED_FIELDKIT", TEXT["supported"][lang]),
        ("cat_root", TEXT["root"][lang]),
        ("cat_root_recommended", TEXT["root_recommended"][lang]),
    ]
    for category in Category:
        strings.append((f"cat_{category.value}", CATEGORY_TITLES[category][lang]))
    choices: list[str] = []
    for s in SETTINGS.values():
        strings.append((s.name, TITLES[s.name][lang]))
        for choice in s.choices or ():
            if str(choice) not in choices:
                choices.append(str(choice))
    for choice in choices:
        strings.append((f"choice_{choice}", CHOICE_TITLES[choice][lang]))
    for recommended in (False, True):
        for s in SETTINGS.values():
            strings.append(
                (f"{_policy_id(s.name, recommended)}_Explain", explain(s, lang, recommended))
            )

    out: list[str] = []
    w = out.append
    w('<?xml version="1.0" encoding="utf-8"?>')
    w("<!-- Generated by installers/policy/generate.py from fieldkit.config.settings. -->")
    w(
        '<policyDefinitionResources xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'revision="{REVISION}" schemaVersion="1.0" '
        'xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">'
    )
    w(f"  <displayName>{escape(TEXT['root'][lang])}</displayName>")
    w(f"  <description>{escape(TEXT['admx_description'][lang])}</description>")
    w("  <resources>")
    w("    <stringTable>")
    for sid, text in strings:
        w(f'      <string id="{sid}">{escape(text)}</string>')
    w("    </stringTable>")
    w("    <presentationTable>")
    for recommended in (False, True):
        for s in SETTINGS.values():
            if s.type is bool:
                continue
            pid = _policy_id(s.name, recommended)
            label = escape(TITLES[s.name][lang])
            w(f'      <presentation id="{pid}">')
            if s.type is int:
                w(
                    f'        <decimalTextBox refId="{s.name}" defaultValue="{s.default}">'
                    f"{label}</decimalTextBox>"
                )
            elif s.choices is not None:
                default = (
                    "" if s.default is None else f' defaultItem="{s.choices.index(s.default)}"'
                )
                opening = f'        <dropdownList refId="{s.name}" noSort="true"{default}>'
                w(opening + f"{label}</dropdownList>")
            else:
                w(f'        <textBox refId="{s.name}">')
                w(f"          <label>{label}</label>")
                if s.default not in (None, ""):
                    value = _value_text(s.default, lang)
                    w(f"          <defaultValue>{escape(value)}</defaultValue>")
                w("        </textBox>")
            w("      </presentation>")
    w("    </presentationTable>")
    w("  </resources>")
    w("</policyDefinitionResources>")
    return "\n".join(out) + "\n"


# --- JSON Schema, mobileconfig, TOML --------------------------------------------------------


def schema_json() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


EXAMPLE_VALUES: dict[str, Any] = {
    "server_url": "https://fieldkit.example-kommun.se",
    "municipality_name": "Exempelby kommun",
    "unit_name": "Fältgruppen",
}


def _example(s: Setting) -> Any:
    if s.name in EXAMPLE_VALUES:
        return EXAMPLE_VALUES[s.name]
    # A plist has no null: an empty string means "not set" for a setting that may be unset.
    return "" if s.default is None else s.default


def mobileconfig() -> str:
    settings_payload: dict[str, Any] = {
        "PayloadType": MACOS_DOMAIN,
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{MACOS_DOMAIN}.policy.settings",
        "PayloadUUID": str(uuid.uuid5(UUID_NS, f"{MACOS_DOMAIN}.policy.settings")).upper(),
        "PayloadDisplayName": "fieldkit settings",
        "PayloadDescription": (
            "Managed preferences of the fieldkit laptop app (domain se.fieldkit). Every key set "
            "here is mandatory and shown as managed in the app: delete the keys you do not "
            "want to manage."
        ),
        "PayloadEnabled": True,
    }
    for s in SETTINGS.values():
        settings_payload[s.name] = _example(s)
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{MACOS_DOMAIN}.policy",
        "PayloadUUID": str(uuid.uuid5(UUID_NS, f"{MACOS_DOMAIN}.policy")).upper(),
        "PayloadDisplayName": "fieldkit (example policy)",
        "PayloadDescription": (
            "Example configuration profile for fieldkit, generated from its settings "
            "declaration. Edit the values, remove what you do not manage, sign it and deploy "
            "it with your MDM."
        ),
        "PayloadOrganization": "Exempelby kommun",
        "PayloadScope": "System",
        "PayloadRemovalDisallowed": True,
        "PayloadContent": [settings_payload],
    }
    return plistlib.dumps(profile, sort_keys=False).decode("utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string


def install_defaults_toml() -> str:
    out = [
        "# fieldkit install defaults (/etc/fieldkit/fieldkit.toml).",
        "#",
        "# The install-defaults layer of the configuration: it overrides the built-in defaults and",
        "# the user's own settings; policies in /etc/fieldkit/policies/recommended/*.json and",
        "# /etc/fieldkit/policies/managed/*.json override it (see docs/configuration.md).",
        "# Every key is optional; remove the leading '# ' to set one. TOML has no null: leave a",
        "# key out to keep its default. The package keeps your changes on upgrade (conffile).",
        "# Generated by installers/policy/generate.py from fieldkit.config.settings.",
    ]
    for s in SETTINGS.values():
        out.append("")
        for line in _wrap(s.description, 88):
            out.append(f"# {line}")
        shown = _example(s) if s.default is None else s.default
        out.append(f"# {s.name} = {_toml_value(shown)}")
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


# --- driver ------------------------------------------------------------------------------


def outputs() -> dict[Path, str]:
    missing = _missing_titles()
    if missing:
        raise SystemExit(
            "generate.py: no title for " + ", ".join(missing) + "; add it to TITLES (English "
            "and Swedish) in installers/policy/generate.py."
        )
    return {
        HERE / "windows" / "fieldkit.admx": admx(),
        HERE / "windows" / "en-US" / "fieldkit.adml": adml("en-US"),
        HERE / "windows" / "sv-SE" / "fieldkit.adml": adml("sv-SE"),
        HERE / "linux" / "settings-v1.schema.json": schema_json(),
        HERE / "macos" / f"{MACOS_DOMAIN}.mobileconfig": mobileconfig(),
        ROOT / "installers" / "linux" / "fieldkit.toml": install_defaults_toml(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="report committed templates that differ; write nothing"
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
        print("Run: .venv/bin/python installers/policy/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
