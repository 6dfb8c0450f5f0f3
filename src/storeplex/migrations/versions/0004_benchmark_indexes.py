"""benchmark indexes: the read paths stay flat at a million payments

On PostgreSQL the dashboard, statement and fee-report indexes carry the summed
columns (INCLUDE), so those sums are index-only scans instead of one random heap
read per payment; the store dashboard's "orders to fulfil" count gets an index on
(store_id, status). Key columns are the models' own, so SQLite gets plain indexes.
Measured with ./scripts/bench (see benchmarks/).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 11:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, key columns, INCLUDE columns on PostgreSQL, recreated: True if the index
# already exists under this name with these key columns and only gains INCLUDE columns)
INDEXES: list[tuple[str, str, list[str], list[str], bool]] = [
    ("ix_orders_store_id_status", "orders", ["store_id", "status"], ["id"], False),
    (
        "ix_payments_store_id_paid_at", "payments", ["store_id", "paid_at"],
        ["status", "amount_total", "amount_platform_fee", "id"], True,
    ),
    (
        "ix_payments_store_id_created_at", "payments", ["store_id", "created_at"],
        ["status", "id"], True,
    ),
    (
        "ix_payments_paid_at", "payments", ["paid_at"],
        ["status", "store_id", "currency", "amount_platform_fee", "id"], False,
    ),
    (
        "ix_refunds_status_created_at", "refunds", ["status", "created_at"],
        ["store_id", "currency", "amount", "application_fee_refund_amount"], False,
    ),
]  # fmt: skip


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    postgresql = _postgresql()
    for name, table, columns, include, recreated in INDEXES:
        if recreated and not postgresql:
            continue
        if recreated:
            op.drop_index(name, table_name=table)
        op.create_index(
            name, table, columns, unique=False, postgresql_include=include if postgresql else []
        )


def downgrade() -> None:
    postgresql = _postgresql()
    for name, table, columns, _include, recreated in reversed(INDEXES):
        if recreated and not postgresql:
            continue
        op.drop_index(name, table_name=table)
        if recreated:
            op.create_index(name, table, columns, unique=False)
