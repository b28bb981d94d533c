"""One provider call as the service makes it: measured, audited, then handed to the view."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from . import audit, metrics
from .ai import QuestionProvider
from .ai.relevance import on_topic
from .ai.types import CallRecord, Generation, UpstreamFailure
from .audit import RequestContext, request_context
from .state import request_state

log = logging.getLogger(__name__)
# Failures of the upstream itself, after the SDK's retries: an error line, and through the
# logging integration a Sentry event. A refused topic (422) or an open breaker is not one.
_REPORTED_FAILURES = {
    "upstream_timeout",
    "upstream_error",
    "upstream_rate_limited",
    "upstream_invalid_response",
}


def call_provider(
    provider: QuestionProvider, topic: str, part: int, count: int = 1
) -> Generation | UpstreamFailure:
    """Call the provider once, check the reply is on topic and record the metrics; a failure is
    returned, not raised."""
    started = time.perf_counter()
    try:
        generation = provider.generate(topic, part, count)
    except UpstreamFailure as failure:
        observe(failure.call, failure.code, time.perf_counter() - started)
        return failure
    call = replace(generation.call, on_topic=on_topic(topic, generation))
    generation = replace(generation, call=call)
    observe(call, "success", time.perf_counter() - started)
    if not call.on_topic:
        metrics.AI_OUTPUT_OFFTOPIC.labels(provider=call.provider, part=str(call.part)).inc()
    if generation.match:
        metrics.AI_TOPIC_MATCH.labels(match=generation.match).inc()
    return generation


def commit_audit(
    ctx: RequestContext,
    results: list[Generation | UpstreamFailure],
    status: int,
    intent_ids: list[str],
) -> None:
    """Report upstream failures, then append one audit record per call, closing the calls'
    intents; raises ApiError 503 when the store cannot commit."""
    for result in results:
        if isinstance(result, UpstreamFailure) and result.code in _REPORTED_FAILURES:
            _report(result)
    records = [
        audit.build_record(
            ctx,
            result.call,
            outcome="success" if isinstance(result, Generation) else result.code,
            status=status,
        )
        for result in results
    ]
    audit.append(records, intent_ids)


def generate_one(provider: QuestionProvider, topic: str, part: int) -> Generation:
    """A single question: call, audit, then return it (or raise the mapped failure)."""
    ctx = request_context()
    intent_ids = audit.open_intents(ctx, provider, topic, [part])
    with audit.released_on_error(intent_ids):
        result = call_provider(provider, topic, part)
    status = 200 if isinstance(result, Generation) else result.status
    commit_audit(ctx, [result], status, intent_ids)
    if isinstance(result, UpstreamFailure):
        raise result
    charge_tokens([result])
    return result


def _report(failure: UpstreamFailure) -> None:
    call = failure.call
    log.error(
        "upstream failure after %d retries: %s",
        call.retries,
        failure.code,
        extra={
            "error_code": failure.code,
            "provider": call.provider,
            "model": call.model,
            "part": call.part,
            "upstream_latency_ms": call.upstream_latency_ms,
        },
    )


def charge_tokens(generations: list[Generation]) -> None:
    """Tokens the answer used, charged to the key's daily budget after the response."""
    request_state().tokens_used = sum(
        gen.call.prompt_tokens + gen.call.completion_tokens for gen in generations
    )


def observe(call: CallRecord, outcome: str, seconds: float) -> None:
    """Record one provider call's metrics: outcome, latency, retries, tokens, rejections."""
    labels = {"provider": call.provider, "model": call.model}
    metrics.AI_REQUESTS.labels(**labels, part=str(call.part), outcome=outcome).inc()
    metrics.AI_LATENCY.labels(**labels, part=str(call.part)).observe(seconds)
    if call.retries:
        metrics.AI_RETRIES.labels(**labels).inc(call.retries)
    for kind, count in (("prompt", call.prompt_tokens), ("completion", call.completion_tokens)):
        if count:
            metrics.AI_TOKENS.labels(**labels, type=kind).inc(count)
    reason = _rejection_reason(call, outcome)
    if reason:
        metrics.AI_OUTPUT_REJECTED.labels(provider=call.provider, reason=reason).inc()


def _rejection_reason(call: CallRecord, outcome: str) -> str | None:
    if outcome == "content_filtered":
        return "content_filter"
    if call.finish_reason == "length":
        return "length"
    if call.output_valid is False:
        return "invalid_format"
    return None
