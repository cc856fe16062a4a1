"""Registry: companions, contacts, consent, advisories, partners, sign-in links

Revision ID: 0003
Revises: 0002
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# --- complete records (traveller extras, stop address, companions, emergency contacts)
# --- and single-use sign-in links

def _upgrade_records() -> None:
    with op.batch_alter_table("travellers") as batch:
        batch.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
        batch.add_column(sa.Column("phone2", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("consent_version", sa.String(length=20), nullable=True))
    with op.batch_alter_table("stops") as batch:
        batch.add_column(sa.Column("address", sa.String(length=300), nullable=True))
    op.create_table(
        "companions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("age_band", sa.String(length=5), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("non_citizen", sa.Boolean(), nullable=False),
        sa.CheckConstraint("age_band IN ('0-4', '5-11', '12-17', '18-64', '65+')",
                           name=op.f("ck_companions_age_band")),
        sa.ForeignKeyConstraint(["traveller_id"], ["travellers.id"],
                                name=op.f("fk_companions_traveller_id_travellers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companions")),
    )
    op.create_index(op.f("ix_companions_traveller_id"), "companions", ["traveller_id"])
    op.create_table(
        "emergency_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("relationship", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.CheckConstraint("phone IS NOT NULL OR email IS NOT NULL",
                           name=op.f("ck_emergency_contacts_reachable")),
        sa.CheckConstraint("language IN ('en', 'fr')", name=op.f("ck_emergency_contacts_language")),
        sa.ForeignKeyConstraint(["traveller_id"], ["travellers.id"],
                                name=op.f("fk_emergency_contacts_traveller_id_travellers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_contacts")),
    )
    op.create_index(op.f("ix_emergency_contacts_traveller_id"), "emergency_contacts", ["traveller_id"])
    op.create_table(
        "signin_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["traveller_id"], ["travellers.id"],
                                name=op.f("fk_signin_tokens_traveller_id_travellers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_tokens")),
        sa.UniqueConstraint("nonce", name=op.f("uq_signin_tokens_nonce")),
    )
    op.create_index(op.f("ix_signin_tokens_traveller_id"), "signin_tokens", ["traveller_id"])


def _downgrade_records() -> None:
    op.drop_index(op.f("ix_signin_tokens_traveller_id"), table_name="signin_tokens")
    op.drop_table("signin_tokens")
    op.drop_index(op.f("ix_emergency_contacts_traveller_id"), table_name="emergency_contacts")
    op.drop_table("emergency_contacts")
    op.drop_index(op.f("ix_companions_traveller_id"), table_name="companions")
    op.drop_table("companions")
    with op.batch_alter_table("stops") as batch:
        batch.drop_column("address")
    with op.batch_alter_table("travellers") as batch:
        batch.drop_column("consent_version")
        batch.drop_column("phone2")
        batch.drop_column("date_of_birth")


# --- partners (tour operators, schools, agencies), per-partner external_id, the
# --- "partner" role, travel advisories

_ROLES_OLD = "role IN ('viewer','coordinator','approver','admin')"
_ROLES_NEW = "role IN ('partner','viewer','coordinator','approver','admin')"


class _SqliteForeignKeysOff:
    """SQLite rebuilds a table to drop a constraint (copy, DROP, rename). With foreign keys
    on, that DROP TABLE deletes every row first and fires ON DELETE CASCADE: the trips and
    stops of every traveller would go. SQLite ignores `PRAGMA foreign_keys` inside a
    transaction, so an open one is committed first (the schema change is still all-or-
    nothing per table rebuild), and the pragma is restored afterwards."""

    def __enter__(self):
        self.bind = op.get_bind()
        self.active = self.bind.dialect.name == "sqlite" and bool(
            self.bind.exec_driver_sql("PRAGMA foreign_keys").scalar())
        if self.active:
            raw = self.bind.connection.dbapi_connection
            if raw.in_transaction:
                raw.commit()
            self.bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        return self

    def __exit__(self, *exc):
        if self.active:
            raw = self.bind.connection.dbapi_connection
            if raw.in_transaction and exc[0] is None:
                raw.commit()
            self.bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        return False


def _upgrade_partners() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Coordinators search names without caring about accents (registry/search.py).
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    partner_where = sa.text("partner_id IS NOT NULL")
    public_where = sa.text("partner_id IS NULL")
    with _SqliteForeignKeysOff():
        with op.batch_alter_table("travellers") as batch:
            batch.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f("fk_travellers_partner_id_partners"), "partners",
                                     ["partner_id"], ["id"])
            batch.drop_constraint(op.f("uq_travellers_external_id"), type_="unique")
        with op.batch_alter_table("users") as batch:
            batch.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f("fk_users_partner_id_partners"), "partners",
                                     ["partner_id"], ["id"])
            batch.drop_constraint(op.f("ck_users_role"), type_="check")
            batch.create_check_constraint(op.f("ck_users_role"), sa.text(_ROLES_NEW))
    op.create_index(op.f("ix_travellers_partner_id"), "travellers", ["partner_id"])
    op.create_index(op.f("ix_users_partner_id"), "users", ["partner_id"])
    # external_id is unique per partner, and among the public registry's own records.
    op.create_index("uq_travellers_partner_external_id", "travellers", ["partner_id", "external_id"],
                    unique=True, sqlite_where=partner_where, postgresql_where=partner_where)
    op.create_index("uq_travellers_public_external_id", "travellers", ["external_id"], unique=True,
                    sqlite_where=public_where, postgresql_where=public_where)
    op.create_table(
        "advisories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_fr", sa.Text(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.CheckConstraint("level BETWEEN 0 AND 3", name=op.f("ck_advisories_level")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
        sa.UniqueConstraint("country", name=op.f("uq_advisories_country")),
    )


def _downgrade_partners() -> None:
    op.drop_table("advisories")
    op.drop_index("uq_travellers_public_external_id", table_name="travellers")
    op.drop_index("uq_travellers_partner_external_id", table_name="travellers")
    op.drop_index(op.f("ix_users_partner_id"), table_name="users")
    op.drop_index(op.f("ix_travellers_partner_id"), table_name="travellers")
    with _SqliteForeignKeysOff():
        op.execute("DELETE FROM users WHERE role = 'partner'")
        with op.batch_alter_table("users") as batch:
            batch.drop_constraint(op.f("ck_users_role"), type_="check")
            batch.create_check_constraint(op.f("ck_users_role"), sa.text(_ROLES_OLD))
            batch.drop_constraint(op.f("fk_users_partner_id_partners"), type_="foreignkey")
            batch.drop_column("partner_id")
        with op.batch_alter_table("travellers") as batch:
            batch.drop_constraint(op.f("fk_travellers_partner_id_partners"), type_="foreignkey")
            batch.drop_column("partner_id")
            batch.create_unique_constraint(op.f("uq_travellers_external_id"), ["external_id"])
    op.drop_table("partners")


def upgrade() -> None:
    _upgrade_records()
    _upgrade_partners()


def downgrade() -> None:
    # Table rebuilds on SQLite must not cascade-delete trips and stops (_SqliteForeignKeysOff).
    with _SqliteForeignKeysOff():
        _downgrade_partners()
        _downgrade_records()
