"""ApiKey: a stored key as the service sees it (never its secret). Operations are in keys.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    name: str
    scopes: frozenset[str]
    rate_limit: str | None
    token_budget: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    secret_hash: str
    previous_secret_hash: str | None
    previous_valid_until: datetime | None

    @property
    def prefix(self) -> str:
        return f"iq_{self.id}"

    def public(self) -> dict[str, object]:
        """Everything about the key that may be shown: never the secret or its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": sorted(self.scopes),
            "rate_limit": self.rate_limit,
            "token_budget": self.token_budget,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
