"""mail outbox, shipment tracking, store locale

Creates `mail_outbox` (one row per mail, written with what caused it), adds the
carrier and tracking number of a shipment to `orders`, and a locale to `stores`
(NULL keeps the plain "12.50 EUR" format) and the staff mails a store turned off.

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("store_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_mail_outbox_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_mail_outbox_dedupe_key")),
    )
    op.create_index(op.f("ix_mail_outbox_store_id"), "mail_outbox", ["store_id"])
    op.create_index(
        "ix_mail_outbox_status_next_attempt_at", "mail_outbox", ["status", "next_attempt_at"]
    )
    op.add_column("orders", sa.Column("carrier", sa.String(length=100), nullable=True))
    op.add_column("orders", sa.Column("tracking_number", sa.String(length=100), nullable=True))
    op.add_column("orders", sa.Column("tracking_url", sa.String(length=500), nullable=True))
    op.add_column("stores", sa.Column("locale", sa.String(length=20), nullable=True))
    op.add_column(
        "stores",
        sa.Column("staff_mails_off", sa.String(length=200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("staff_mails_off")
        batch.drop_column("locale")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking_url")
        batch.drop_column("tracking_number")
        batch.drop_column("carrier")
    op.drop_index("ix_mail_outbox_status_next_attempt_at", table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_store_id"), table_name="mail_outbox")
    op.drop_table("mail_outbox")
