"""POST /v1/speaking-tests: a full mock test, its three parts generated concurrently."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

from flask import Blueprint, Response

from .. import audit
from ..ai import QuestionProvider, get_provider
from ..ai.types import Generation, UpstreamFailure
from ..audit import RequestContext, request_context
from ..generation import call_provider, charge_tokens, commit_audit
from ..openapi import AI_ERRORS
from ..schemas import CueCard, SpeakingTest, SpeakingTestRequest, Usage
from ..state import get_settings
from .envelope import success
from .routes import Routes

bp = Blueprint("speaking_tests", __name__)
generators = Routes(bp, scope="questions:generate", token_budget=True)


@generators.post("/v1/speaking-tests", response=SpeakingTest, errors=AI_ERRORS)
def create_speaking_test(body: SpeakingTestRequest) -> Response:
    """Generate a full mock Speaking test.

    Part 1, Part 2 and Part 3 are generated concurrently. All or nothing: if any part fails
    after retries, the whole test fails with that part's error and no content.
    """
    ctx, provider = request_context(), get_provider()
    jobs = [(1, body.part1_count), (2, 1), (3, body.part3_count)]
    intent_ids = audit.open_intents(ctx, provider, body.topic, [part for part, _ in jobs])
    parallel = min(len(jobs), get_settings().SPEAKING_TEST_MAX_PARALLEL)
    # One short-lived pool per request, bounded, nothing shared. It beat asyncio with a
    # per-request AsyncAzureOpenAI on latency, CPU and throughput (bench/fanout.py).
    # Each job runs in a copy of this context, so its log lines carry the request id.
    with (
        audit.released_on_error(intent_ids),
        ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="speaking-test") as pool,
    ):
        futures = [
            pool.submit(copy_context().run, call_provider, provider, body.topic, part, count)
            for part, count in jobs
        ]
        results = [future.result() for future in futures]
    return finish_speaking_test(ctx, provider, body.topic, results, intent_ids)


def finish_speaking_test(
    ctx: RequestContext,
    provider: QuestionProvider,
    topic: str,
    results: list[Generation | UpstreamFailure],
    intent_ids: list[str],
) -> Response:
    """Audit every call, then answer all parts or, if any failed, only the first failure."""
    failures = [result for result in results if isinstance(result, UpstreamFailure)]
    commit_audit(ctx, results, failures[0].status if failures else 200, intent_ids)
    if failures:
        raise failures[0]
    part1, part2, part3 = (result for result in results if isinstance(result, Generation))
    charge_tokens([part1, part2, part3])
    calls = [part1.call, part2.call, part3.call]
    return success(
        SpeakingTest(
            topic=topic,
            part1=part1.questions,
            part2=CueCard(
                question=part2.questions[0], prompts=part2.prompts, explain=part2.explain
            ),
            part3=part3.questions,
            provider=provider.name,
            model=provider.model,
            match=part2.match,
            usage=Usage(
                prompt_tokens=sum(c.prompt_tokens for c in calls),
                completion_tokens=sum(c.completion_tokens for c in calls),
            ),
        )
    )
