"""The chat body the Azure provider posts as it is: the SDK's parameter transform must not
change it (the provider skips that transform for its CPU cost)."""

from __future__ import annotations

import pytest
from openai._utils._transform import maybe_transform
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

from ielts_service.ai.azure import chat_body
from ielts_service.ai.prompts import build_messages
from ielts_service.config import Settings


@pytest.mark.parametrize(("part", "count"), [(1, 1), (1, 5), (2, 1), (3, 1), (3, 4)])
def test_the_sdk_transform_leaves_the_chat_body_unchanged(part: int, count: int) -> None:
    settings = Settings(APP_ENV="test", AI_PROVIDER="offline")
    messages = build_messages('a "memorable" trip', part, count)
    body = chat_body("gpt-4o-test", messages, part, count, settings)

    assert maybe_transform(body, CompletionCreateParamsNonStreaming) == body
