"""Audit record schema version 3: `on_topic`, whether the reply mentions its topic or theme.

A nullable column; records already stored keep their schema version and are verified over its
fields, with `on_topic` null.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("on_topic", sa.Boolean()))


def downgrade() -> None:
    # Version 3 records cannot be verified without the column, and deleting them would break
    # the chain: the trail only moves forward.
    raise NotImplementedError("the audit trail cannot be downgraded past schema version 3")
