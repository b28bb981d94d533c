"""A sample audit record: the fields of one successful call, for tests and the audit benchmark."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ielts_service.audit import store


def sample_record(**overrides: Any) -> dict[str, Any]:
    """The fields of one successful Part 2 call, as the service builds them."""
    content = json.dumps(
        {
            "question": "Describe a memorable trip you took.",
            "prompts": ["where you went", "who you went with", "what you did"],
            "explain": "and explain why it was memorable.",
        }
    )
    record: dict[str, Any] = {
        "request_id": uuid.uuid4().hex,
        "key_id": "0123456789ab",
        "client_ip": "127.0.0.1",
        "route": "/v1/questions",
        "part": 2,
        "topic": "a memorable trip",
        "provider": "azure",
        "model": "gpt-4o",
        "api_version": "2024-10-21",
        "outcome": "success",
        "status": 200,
        "latency_ms": 812.5,
        "upstream_latency_ms": 800.25,
        "prompt_tokens": 120,
        "completion_tokens": 48,
        "retries": 0,
        "finish_reason": "stop",
        "content_filter": "passed",
        "output_valid": True,
        "prompt_version": "2026-11-28.1",
        "messages_sha256": "ab" * 32,
        **store.content_fields(content, True),
    }
    record.update(overrides)
    return record
