"""Usage per key from the audit trail: an index that covers the usage query.

On PostgreSQL the counted columns are INCLUDEd, so a time range is read from the index
alone (an index-only scan) instead of from the wide audit rows; and statistics on the
(key, UTC day) groups let the planner hash a few thousand groups instead of sorting the
whole range (it cannot guess how many groups an expression makes).
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"

USAGE_COLUMNS = ["kind", "route", "part", "status", "prompt_tokens", "completion_tokens"]
# The same expression, constants included, as usage.py groups by.
USAGE_DAY = "date_trunc('day', timezone('UTC', \"time\"))"


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_usage",
        "audit_events",
        ["time", "key_id"],
        postgresql_include=USAGE_COLUMNS,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE STATISTICS audit_events_usage_groups "
            f"ON key_id, ({USAGE_DAY}) FROM audit_events"
        )
        op.execute("ANALYZE audit_events")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS audit_events_usage_groups")
    op.drop_index("ix_audit_events_usage", table_name="audit_events")
