"""Audit record schema version 2: record kinds and operator actions.

Adds `kind` (existing records are model calls), `actor`, `target_key_id` and `change`, and lets
the model-call fields be empty on operator records. Records already stored keep schema version 1
and are still verified over version 1's fields.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

MODEL_CALL_ONLY: dict[str, sa.types.TypeEngine[Any]] = {
    "request_id": sa.String(128),
    "route": sa.String(100),
    "part": sa.Integer(),
    "topic": sa.String(200),
    "provider": sa.String(20),
    "model": sa.String(100),
    "outcome": sa.String(40),
    "status": sa.Integer(),
    "latency_ms": sa.Float(),
    "prompt_tokens": sa.Integer(),
    "completion_tokens": sa.Integer(),
    "retries": sa.Integer(),
    "prompt_version": sa.String(40),
    "messages_sha256": sa.String(64),
}


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(40), nullable=False, server_default="model_call")
        )
        batch.add_column(sa.Column("actor", sa.String(200)))
        batch.add_column(sa.Column("target_key_id", sa.String(32)))
        batch.add_column(sa.Column("change", sa.JSON()))
        for name, type_ in MODEL_CALL_ONLY.items():
            batch.alter_column(name, existing_type=type_, nullable=True)
    op.create_index("ix_audit_events_kind_seq", "audit_events", ["kind", "seq"])
    op.create_index("ix_audit_events_target_key", "audit_events", ["target_key_id"])


def downgrade() -> None:
    # Version 2 records cannot be verified by the code of revision 0002, and deleting them
    # would break the chain: the trail only moves forward.
    raise NotImplementedError("the audit trail cannot be downgraded past schema version 2")
