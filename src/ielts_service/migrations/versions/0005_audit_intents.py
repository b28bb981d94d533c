"""Model calls in flight (audit_intents): accounted for even when a worker dies mid-call."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "audit_intents",
        sa.Column("id", sa.String(26), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(32)),
        sa.Column("client_ip", sa.String(64)),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_intents")
