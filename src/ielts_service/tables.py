"""Database tables (SQLAlchemy Core); Alembic migrations in migrations/ create them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("previous_secret_hash", sa.String(64)),
    sa.Column("previous_valid_until", sa.DateTime(timezone=True)),
    sa.Column("scopes", sa.String(200), nullable=False),
    sa.Column("rate_limit", sa.String(100)),
    sa.Column("token_budget", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
)


@dataclass(frozen=True)
class AuditField:
    """One column of `audit_events`, and the first record schema version that has it."""

    name: str
    type: sa.types.TypeEngine[Any]
    nullable: bool = True
    since: int = 1  # records of this version and later hash the field
    absent: Any = None  # what records of earlier versions hold in this column
    options: dict[str, Any] = field(default_factory=dict)

    def column(self) -> sa.Column[Any]:
        return sa.Column(self.name, self.type, nullable=self.nullable, **self.options)


# The audit record, field by field: the columns, the fields each schema version hashes
# (audit/chain.py), the API model (schemas.py) and the export columns all come from here.
# Adding a field: docs/audit.md.
AUDIT_FIELDS: tuple[AuditField, ...] = (
    AuditField(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        False,
        options={"primary_key": True, "autoincrement": False},
    ),
    AuditField("id", sa.String(26), False, options={"unique": True}),
    AuditField("time", sa.DateTime(timezone=True), False),
    AuditField("schema_version", sa.Integer(), False),
    AuditField("kind", sa.String(40), False, since=2, absent="model_call"),
    AuditField("request_id", sa.String(128)),
    AuditField("key_id", sa.String(32)),
    AuditField("client_ip", sa.String(64)),
    AuditField("route", sa.String(100)),
    AuditField("part", sa.Integer()),
    AuditField("topic", sa.String(200)),
    AuditField("provider", sa.String(20)),
    AuditField("model", sa.String(100)),
    AuditField("api_version", sa.String(40)),
    AuditField("outcome", sa.String(40)),
    AuditField("status", sa.Integer()),
    AuditField("latency_ms", sa.Float()),
    AuditField("upstream_latency_ms", sa.Float()),
    AuditField("prompt_tokens", sa.Integer()),
    AuditField("completion_tokens", sa.Integer()),
    AuditField("retries", sa.Integer()),
    AuditField("finish_reason", sa.String(40)),
    AuditField("content_filter", sa.String(20)),
    AuditField("output_valid", sa.Boolean()),
    AuditField("on_topic", sa.Boolean(), since=3),  # the reply mentions its topic or theme
    AuditField("prompt_version", sa.String(40)),
    AuditField("messages_sha256", sa.String(64)),
    AuditField("content", sa.Text()),
    AuditField("content_sha256", sa.String(64)),
    AuditField("actor", sa.String(200), since=2),
    AuditField("target_key_id", sa.String(32), since=2),
    AuditField("change", sa.JSON(), since=2),
    AuditField("prev_hash", sa.String(64), False),
    AuditField("hash", sa.String(64), False),
)
AUDIT_SCHEMA_VERSION = max(f.since for f in AUDIT_FIELDS)  # the version new records get
# `kind`: a provider call, or an operator action (which carries actor, target_key_id, change).
AUDIT_KINDS = (
    "model_call",
    "key_created",
    "key_updated",
    "key_rotated",
    "key_revoked",
    "audit_pruned",
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    *(f.column() for f in AUDIT_FIELDS),
    sa.Index("ix_audit_events_time", "time"),
    sa.Index("ix_audit_events_key_time", "key_id", "time"),
    sa.Index("ix_audit_events_outcome_time", "outcome", "time"),
    sa.Index("ix_audit_events_request_id", "request_id"),
    sa.Index("ix_audit_events_kind_seq", "kind", "seq"),
    sa.Index("ix_audit_events_target_key", "target_key_id"),
    sa.Index(
        "ix_audit_events_usage",
        "time",
        "key_id",
        postgresql_include=[
            "kind",
            "route",
            "part",
            "status",
            "prompt_tokens",
            "completion_tokens",
        ],
    ),
)

# One row (id = 1): the chain's head, and the anchor the verifier starts from after a prune.
audit_chain = sa.Table(
    "audit_chain",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("head_seq", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("anchor_seq", sa.BigInteger, nullable=False),
    sa.Column("anchor_hash", sa.String(64), nullable=False),
)

# Model calls in flight: a row written before the upstream call and deleted in the transaction
# that chains its audit record. Rows whose worker died are closed by audit/intents.py's sweep.
audit_intents = sa.Table(
    "audit_intents",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),  # host/pid namespace:pid of the worker
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

# Signed checkpoints of the chain head (`audit checkpoint`): seq, hash and time, signed with an
# Ed25519 key kept outside the database. Copies shipped elsewhere are what the database admin
# cannot rewrite.
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("time", sa.String(32), nullable=False),  # ISO 8601 UTC, exactly as signed
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("signature", sa.String(100), nullable=False),
    sa.Index("ix_audit_checkpoints_seq", "seq"),
)

# One row per `audit verify --record` run: what the verification metrics are read from.
audit_verifications = sa.Table(
    "audit_verifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("from_seq", sa.BigInteger, nullable=False),
    sa.Column("to_seq", sa.BigInteger),
    sa.Column("checked", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text),
)
