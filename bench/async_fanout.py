"""The alternative fan-out, for measurement: asyncio + AsyncAzureOpenAI + asyncio.gather.

Serves the service app with one extra route, POST /bench/speaking-tests-async, identical to
POST /v1/speaking-tests (auth, limits, validation, audit, metrics, the same parsing and
error mapping) except that the three parts run as coroutines on a per-request event loop.
Flask runs each request's async work on a new loop, so a process-wide AsyncAzureOpenAI
breaks on the second request: the client is created per request, as the SDK requires.

    gunicorn -c deploy/gunicorn.conf.py bench.async_fanout:app
"""

from __future__ import annotations

import asyncio
import time

import httpx2
import openai
from flask import Blueprint, Response
from openai import AsyncAzureOpenAI

from ielts_service import audit, create_app
from ielts_service.ai import get_provider
from ielts_service.ai.azure import map_api_error, with_latency
from ielts_service.ai.ielts_format import interpret
from ielts_service.ai.prompts import build_messages, call_record
from ielts_service.ai.prompts import response_format as schema_for
from ielts_service.ai.types import Generation, UpstreamFailure
from ielts_service.api.speaking_tests import finish_speaking_test
from ielts_service.audit import request_context
from ielts_service.auth import require_scope
from ielts_service.config import Settings
from ielts_service.generation import observe
from ielts_service.limits import per_key_limits
from ielts_service.schemas import SpeakingTestRequest
from ielts_service.state import get_settings
from ielts_service.validation import parse_body

bp = Blueprint("bench_async_fanout", __name__)


def _client(settings: Settings) -> AsyncAzureOpenAI:
    assert settings.AZURE_OPENAI_API_KEY is not None
    return AsyncAzureOpenAI(
        azure_endpoint=settings.AZURE_OPENAI_ENDPOINT or "",
        azure_deployment=settings.AZURE_OPENAI_DEPLOYMENT,
        api_version=settings.AZURE_OPENAI_API_VERSION,
        api_key=settings.AZURE_OPENAI_API_KEY.get_secret_value(),
        timeout=httpx2.Timeout(
            settings.AZURE_OPENAI_TIMEOUT_S, connect=settings.AZURE_OPENAI_CONNECT_TIMEOUT_S
        ),
        max_retries=settings.AZURE_OPENAI_MAX_RETRIES,
    )


async def _call(
    client: AsyncAzureOpenAI, settings: Settings, topic: str, part: int, count: int
) -> Generation | UpstreamFailure:
    """One part, as AzureProvider.generate makes it, awaited instead of blocking."""
    messages = build_messages(topic, part, count)
    call = call_record(
        "azure",
        settings.AZURE_OPENAI_DEPLOYMENT or "",
        topic,
        part,
        messages,
        api_version=settings.AZURE_OPENAI_API_VERSION,
    )
    started = time.perf_counter()
    try:
        raw = await client.chat.completions.with_raw_response.create(
            model=call.model,
            messages=messages,  # type: ignore[arg-type]
            response_format=schema_for(part, count),  # type: ignore[arg-type]
            max_tokens=settings.AZURE_OPENAI_MAX_TOKENS,
            temperature=0.8,
        )
        completion = raw.parse()
    except openai.APIError as exc:
        failure = map_api_error(exc, with_latency(call, started))
        observe(failure.call, failure.code, time.perf_counter() - started)
        return failure
    choice, usage = completion.choices[0], completion.usage
    call = with_latency(
        call,
        started,
        retries=raw.retries_taken,
        finish_reason=choice.finish_reason,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        output_text=choice.message.content,
    )
    try:
        generation = interpret(call, part, count)
    except UpstreamFailure as failure:
        observe(failure.call, failure.code, time.perf_counter() - started)
        return failure
    observe(generation.call, "success", time.perf_counter() - started)
    return generation


async def _all_parts(
    settings: Settings, topic: str, jobs: list[tuple[int, int]]
) -> list[Generation | UpstreamFailure]:
    async with _client(settings) as client:
        return list(await asyncio.gather(*(_call(client, settings, topic, *job) for job in jobs)))


@bp.post("/bench/speaking-tests-async")
@require_scope("questions:generate")
@per_key_limits
def create_speaking_test_async() -> Response:
    """POST /v1/speaking-tests with the parts gathered on an event loop."""
    body = parse_body(SpeakingTestRequest)
    ctx, provider = request_context(), get_provider()
    jobs = [(1, body.part1_count), (2, 1), (3, body.part3_count)]
    intent_ids = audit.open_intents(ctx, provider, body.topic, [part for part, _ in jobs])
    results = asyncio.run(_all_parts(get_settings(), body.topic, jobs))
    return finish_speaking_test(ctx, provider, body.topic, results, intent_ids)


app = create_app()
app.register_blueprint(bp)
