"""Server-side sign-out, TOTP for staff, client addresses in the audit log, proven contact changes

`users.session_version` is part of every console session's id: signing out bumps it, so a
copy of the cookie is refused afterwards. `users.totp_secret` holds a staff member's second
factor once they enrol. `audit_log.address` is the client's address of staff and log-in
actions. `signin_tokens.ended_at` ends a traveller's session when they sign out.
`contact_changes` holds a traveller's new email or phone until the code sent to it
comes back.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("address", sa.String(length=45), nullable=True))
    with op.batch_alter_table("signin_tokens") as batch:
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "contact_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=6), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("field IN ('email','phone','phone2')", name=op.f("ck_contact_changes_field")),
        sa.ForeignKeyConstraint(["traveller_id"], ["travellers.id"],
                                name=op.f("fk_contact_changes_traveller_id_travellers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_changes")),
        sa.UniqueConstraint("traveller_id", "field", name="uq_contact_changes_once"),
    )
    with op.batch_alter_table("contact_changes") as batch:
        batch.create_index(batch.f("ix_contact_changes_traveller_id"), ["traveller_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_changes") as batch:
        batch.drop_index(batch.f("ix_contact_changes_traveller_id"))
    op.drop_table("contact_changes")
    with op.batch_alter_table("signin_tokens") as batch:
        batch.drop_column("ended_at")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("address")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_secret")
        batch.drop_column("session_version")
