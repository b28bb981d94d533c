"""Audit trail: hash-chained events and the chain's head/anchor row."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("id", sa.String(26), nullable=False, unique=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(32)),
        sa.Column("client_ip", sa.String(64)),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("api_version", sa.String(40)),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("upstream_latency_ms", sa.Float),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("finish_reason", sa.String(40)),
        sa.Column("content_filter", sa.String(20)),
        sa.Column("output_valid", sa.Boolean),
        sa.Column("prompt_version", sa.String(40), nullable=False),
        sa.Column("messages_sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text),
        sa.Column("content_sha256", sa.String(64)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_time", "audit_events", ["time"])
    op.create_index("ix_audit_events_key_time", "audit_events", ["key_id", "time"])
    op.create_index("ix_audit_events_outcome_time", "audit_events", ["outcome", "time"])
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger, nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        chain,
        [{"id": 1, "head_seq": 0, "head_hash": GENESIS, "anchor_seq": 1, "anchor_hash": GENESIS}],
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
    op.drop_table("audit_events")
