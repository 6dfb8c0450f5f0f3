"""the reason a store was suspended

Adds `stores.suspended_reason`: what the platform operator wrote when suspending the
store, shown to the store's staff; NULL while the store is active.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("suspended_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("suspended_reason")
