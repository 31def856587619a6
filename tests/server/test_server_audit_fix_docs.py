"""Acceptance audit of #5: docs/server.md says what the code does."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from fieldkit.server.identity import IdentityProvider
from fieldkit.server.settings import ServerSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    following = re.search(r"\n#{2,3} ", text[start + len(title) + 2 :])
    assert following is not None
    return text[start : start + len(title) + 2 + following.start()]


def test_the_oidc_seam_names_every_method_of_the_protocol_with_its_parameters() -> None:
    seam = section("### The OIDC seam")
    methods = [
        name
        for name, _ in inspect.getmembers(IdentityProvider, inspect.isfunction)
        if not name.startswith("_")
    ]
    assert len(methods) >= 6
    documented = dict(re.findall(r"- `(\w+)\(([^)]*)\)", seam))
    assert sorted(documented) == sorted(methods)
    for name in methods:
        params = [p for p in inspect.signature(getattr(IdentityProvider, name)).parameters]
        for param in params[1:]:  # after self
            assert param in documented[name], (name, param)


def test_the_failure_limits_in_the_docs_are_the_settings() -> None:
    limits = " ".join(section("### Failure limits").split())
    settings = ServerSettings(db_url="sqlite://")
    assert f"{settings.token_failures_per_ip} wrong secrets per source in 5 minutes" in limits
    assert settings.token_window_seconds == 5 * 60
    assert f"**{settings.enroll_failures_per_ip} failures per source**" in limits
    assert f"**{settings.enroll_failures_global:,} failures in all**" in limits
    assert settings.enroll_window_seconds == 15 * 60


def test_direct_tls_says_the_key_has_no_passphrase() -> None:
    assert "must **not** be protected by a passphrase" in section("## Deployment")


def test_the_admin_cli_lists_user_deactivate_and_activate() -> None:
    cli = section("## Admin CLI")
    assert "`user deactivate USERNAME`" in cli and "`user activate USERNAME`" in cli
