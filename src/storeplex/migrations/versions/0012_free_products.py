"""free products, product images

Adds `products.is_free`: a price of 0 is accepted only for a product marked free, so a
forgotten price never puts a product on sale for nothing; and `products.image_key`, the
file name of the product's image under the data dir.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.add_column(
            sa.Column("is_free", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("image_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch_op:
        batch_op.drop_column("image_key")
        batch_op.drop_column("is_free")
