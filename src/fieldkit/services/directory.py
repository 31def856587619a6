"""The team directory pulled from the server (names and roles of the user's team), for showing
who wrote or owns what."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from fieldkit.domain.enums import Role
from fieldkit.services.session import Session


@dataclass(frozen=True)
class TeamMember:
    id: str
    username: str
    display_name: str
    role: Role | str
    team_id: str | None


def _member(row: Any) -> TeamMember:
    get = row.get if isinstance(row, dict) else (lambda k, d=None: getattr(row, k, d))
    role = get("role", "worker")
    with contextlib.suppress(ValueError):
        role = Role(role)
    return TeamMember(
        id=str(get("id")),
        username=str(get("username", "") or ""),
        display_name=str(get("display_name", "") or get("username", "") or ""),
        role=role,
        team_id=get("team_id"),
    )


def list_users(session: Session) -> list[TeamMember]:
    """The team as last synced, plus this profile's own user if the server has not sent it."""
    repo = session.vault.users
    rows = repo.list() if hasattr(repo, "list") else repo.all()
    members = [_member(r) for r in rows]
    me = session.identity
    if not any(m.id == me.user_id for m in members):
        members.append(TeamMember(me.user_id, me.username, me.display_name, me.role, me.team_id))
    return sorted(members, key=lambda m: m.display_name.casefold())


def display_names(session: Session) -> dict[str, str]:
    """user id -> display name, for labelling authors and owners."""
    return {m.id: m.display_name for m in list_users(session)}


def display_name(session: Session, user_id: str) -> str:
    """A user's display name; the id itself when the directory does not know them."""
    return display_names(session).get(user_id, user_id)
