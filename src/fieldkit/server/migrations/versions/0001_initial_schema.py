"""Initial schema: identity, devices, records, the change feed, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import secrets
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_device_seq", ["device_id", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_device_id"), ["device_id"], unique=False)

    op.create_table(
        "audit_problems",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_problems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_problems_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("target_user_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_changes_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_changes_target", ["target_user_id"], unique=False)

    op.create_table(
        "enroll_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enroll_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enroll_attempts_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enroll_attempts_client_ip"), ["client_ip"], unique=False
        )

    op.create_table(
        "feed_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "records",
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("field_versions", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_type", "id"),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_records_case_id"), ["case_id"], unique=False)

    op.create_table(
        "server_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "case_scope",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("case_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_entry_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_exempt", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("tombstoned", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.PrimaryKeyConstraint("case_id"),
    )
    with op.batch_alter_table("case_scope", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_scope_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_scope_team_id"), ["team_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "case_members",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_scope.case_id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id"),
    )
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_mutation_id", sa.BigInteger(), nullable=False),
        sa.Column("audit_head_seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_head_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "enroll_codes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "mutation_log",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("mutation_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
        ),
        sa.PrimaryKeyConstraint("device_id", "mutation_id"),
    )
    op.create_table(
        "rejections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("mutation_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rejections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejections_device_id"), ["device_id"], unique=False)

    _seal_records()
    op.execute("INSERT INTO feed_counter (id, value) VALUES (1, 0)")
    # The server's identity, the change-feed epoch (a cursor from another epoch is refused with
    # resync_required) and the secret that signs access tokens and peppers enrolment codes.
    meta = sa.table("server_meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.bulk_insert(
        meta,
        [
            {"key": "server_id", "value": str(uuid.uuid4())},
            {"key": "epoch", "value": secrets.token_hex(4)},
            {"key": "secret", "value": secrets.token_hex(32)},
            {"key": "feed_floor", "value": "0"},
        ],
    )


# A sealed record (signed note, submitted assessment, review) keeps its body, id, case and seal
# forever; only ``state`` (an assessment's status) and the version may move. Retention removes
# rows with DELETE, which these triggers leave alone.
SQLITE_SEAL = """
CREATE TRIGGER records_sealed_immutable BEFORE UPDATE ON records
WHEN OLD.sealed AND (NEW.body IS NOT OLD.body OR NOT NEW.sealed OR NEW.id IS NOT OLD.id
                     OR NEW.case_id IS NOT OLD.case_id OR NEW.record_type IS NOT OLD.record_type)
BEGIN
  SELECT RAISE(ABORT, 'fieldkit: a sealed record is immutable');
END
"""

PG_SEAL_FUNCTION = """
CREATE FUNCTION fieldkit_records_sealed_immutable() RETURNS trigger AS $$
BEGIN
  IF OLD.sealed AND (NEW.body IS DISTINCT FROM OLD.body OR NOT NEW.sealed
                     OR NEW.id IS DISTINCT FROM OLD.id
                     OR NEW.case_id IS DISTINCT FROM OLD.case_id
                     OR NEW.record_type IS DISTINCT FROM OLD.record_type) THEN
    RAISE EXCEPTION 'fieldkit: a sealed record is immutable'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql
"""

PG_SEAL_TRIGGER = """
CREATE TRIGGER records_sealed_immutable BEFORE UPDATE ON records
FOR EACH ROW EXECUTE FUNCTION fieldkit_records_sealed_immutable()
"""


def _seal_records() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_SEAL_FUNCTION)
        op.execute(PG_SEAL_TRIGGER)
    else:
        op.execute(SQLITE_SEAL)


def _unseal_records() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS records_sealed_immutable"
        + (" ON records" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS fieldkit_records_sealed_immutable()")


def downgrade() -> None:
    _unseal_records()
    with op.batch_alter_table("rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rejections_device_id"))

    op.drop_table("rejections")
    op.drop_table("mutation_log")
    op.drop_table("enroll_codes")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_user_id"))

    op.drop_table("devices")
    with op.batch_alter_table("case_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_members_user_id"))

    op.drop_table("case_members")
    op.drop_table("users")
    with op.batch_alter_table("case_scope", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_scope_team_id"))
        batch_op.drop_index(batch_op.f("ix_case_scope_person_id"))

    op.drop_table("case_scope")
    op.drop_table("teams")
    op.drop_table("server_meta")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_case_id"))

    op.drop_table("records")
    op.drop_table("feed_counter")
    with op.batch_alter_table("enroll_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enroll_attempts_client_ip"))
        batch_op.drop_index(batch_op.f("ix_enroll_attempts_at"))

    op.drop_table("enroll_attempts")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_target")
        batch_op.drop_index(batch_op.f("ix_changes_case_id"))

    op.drop_table("changes")
    with op.batch_alter_table("audit_problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_problems_device_id"))

    op.drop_table("audit_problems")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_device_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_case_id"))
        batch_op.drop_index("ix_audit_device_seq")

    op.drop_table("audit_events")
