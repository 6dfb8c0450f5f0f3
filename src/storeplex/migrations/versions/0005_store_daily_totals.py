"""store daily totals: dashboards, statements and the fee report read a row per day

Creates `store_daily_totals` and fills it from the payments, refunds and disputes
already recorded (the same sums `storeplex.ledger.recompute` makes; from
then on the session keeps the rows in step).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
INSERT INTO store_daily_totals (store_id, day, currency, payments, gross_sales,
    platform_fees, refund_count, refunds, fee_refunds, dispute_count, disputes)
SELECT store_id, day, currency, sum(a), sum(b), sum(c), sum(d), sum(e), sum(f), sum(g),
       sum(h)
FROM (
    SELECT store_id, {paid_day} AS day, currency, 1 AS a, amount_total AS b,
           amount_platform_fee AS c, 0 AS d, 0 AS e, 0 AS f, 0 AS g, 0 AS h
    FROM payments
    WHERE status IN ('succeeded', 'partially_refunded', 'refunded') AND paid_at IS NOT NULL
    UNION ALL
    SELECT store_id, {refund_day}, currency, 0, 0, 0, 1, amount, application_fee_refund_amount, 0, 0
    FROM refunds WHERE status = 'succeeded'
    UNION ALL
    SELECT store_id, {dispute_day}, currency, 0, 0, 0, 0, 0, 0, 1, amount
    FROM disputes WHERE outcome = 'lost' AND closed_at IS NOT NULL
) AS parts
GROUP BY store_id, day, currency
"""


def _day(column: str, postgresql: bool) -> str:
    return f"(({column} AT TIME ZONE 'UTC')::date)" if postgresql else f"substr({column}, 1, 10)"


def upgrade() -> None:
    op.create_table(
        "store_daily_totals",
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("gross_sales", sa.BigInteger(), nullable=False),
        sa.Column("platform_fees", sa.BigInteger(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("fee_refunds", sa.BigInteger(), nullable=False),
        sa.Column("dispute_count", sa.Integer(), nullable=False),
        sa.Column("disputes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_daily_totals_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "day", "currency", name=op.f("pk_store_daily_totals")),
    )
    op.create_index("ix_store_daily_totals_day", "store_daily_totals", ["day"], unique=False)
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(
        BACKFILL.format(
            paid_day=_day("paid_at", postgresql),
            refund_day=_day("created_at", postgresql),
            dispute_day=_day("closed_at", postgresql),
        )
    )


def downgrade() -> None:
    op.drop_index("ix_store_daily_totals_day", table_name="store_daily_totals")
    op.drop_table("store_daily_totals")
