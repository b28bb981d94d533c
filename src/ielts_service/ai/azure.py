"""Azure OpenAI provider: the official SDK, one client per process, mapped failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx2
import openai
from openai import AzureOpenAI
from openai.types.chat import ChatCompletion

from ..config import Settings
from .circuit import CircuitBreaker
from .http_pools import PooledTransport
from .ielts_format import interpret
from .prompts import build_messages, call_record, response_format
from .types import CallRecord, Generation, UpstreamFailure

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"


def entra_token_provider() -> Callable[[], str]:
    """Entra ID tokens from the environment's identity (managed identity, workload identity...)."""
    from azure.identity import (  # type: ignore[import-not-found]
        DefaultAzureCredential,
        get_bearer_token_provider,
    )

    provider: Callable[[], str] = get_bearer_token_provider(DefaultAzureCredential(), ENTRA_SCOPE)
    return provider


def build_client(
    settings: Settings, token_provider: Callable[[], str] | None = None
) -> AzureOpenAI:
    """The process-wide client: bounded timeouts, SDK retries, a pooled HTTP client."""
    credential: dict[str, Any]
    if settings.AZURE_OPENAI_USE_ENTRA_ID:
        credential = {"azure_ad_token_provider": token_provider or entra_token_provider()}
    else:
        assert settings.AZURE_OPENAI_API_KEY is not None
        credential = {"api_key": settings.AZURE_OPENAI_API_KEY.get_secret_value()}
    assert settings.AZURE_OPENAI_ENDPOINT is not None
    return AzureOpenAI(
        azure_endpoint=settings.AZURE_OPENAI_ENDPOINT,
        azure_deployment=settings.AZURE_OPENAI_DEPLOYMENT,
        api_version=settings.AZURE_OPENAI_API_VERSION,
        timeout=httpx2.Timeout(
            settings.AZURE_OPENAI_TIMEOUT_S, connect=settings.AZURE_OPENAI_CONNECT_TIMEOUT_S
        ),
        max_retries=settings.AZURE_OPENAI_MAX_RETRIES,
        http_client=httpx2.Client(transport=PooledTransport(settings.AZURE_OPENAI_MAX_CONNECTIONS)),
        **credential,
    )


class AzureProvider:
    """Generates questions with a chat-completions deployment and JSON-schema output."""

    name = "azure"
    remote = True

    def __init__(
        self,
        settings: Settings,
        breaker: CircuitBreaker,
        token_provider: Callable[[], str] | None = None,
    ) -> None:
        assert settings.AZURE_OPENAI_DEPLOYMENT is not None
        self.model = settings.AZURE_OPENAI_DEPLOYMENT
        self._settings = settings
        self._client = build_client(settings, token_provider)
        self._breaker = breaker

    def close(self) -> None:
        self._client.close()

    def generate(self, topic: str, part: int, count: int = 1) -> Generation:
        messages = build_messages(topic, part, count)
        call = call_record(
            self.name,
            self.model,
            topic,
            part,
            messages,
            api_version=self._settings.AZURE_OPENAI_API_VERSION,
        )
        if not self._breaker.allow():
            raise UpstreamFailure(
                503,
                "upstream_unavailable",
                "the model is unavailable (circuit open); retry later",
                call,
                headers={"Retry-After": str(self._breaker.retry_after_s())},
            )
        started = time.perf_counter()
        try:
            # The SDK's own request path (auth, retries, timeouts, error mapping) with the body
            # as written: `chat.completions.create` would first copy it through the SDK's
            # typed-parameter transform, ~1 ms of CPU per call that changes nothing in this
            # body (a test checks that it stays so).
            reply = self._client.post(
                "/chat/completions",
                body=chat_body(self.model, messages, part, count, self._settings),
                cast_to=httpx2.Response,
            )
        except openai.APIError as exc:
            call = with_latency(call, started, retries=_retries_taken(exc.request))
            failure = map_api_error(exc, call)
            if failure.code in _AVAILABILITY_FAILURES:
                self._breaker.record_failure()
            else:
                self._breaker.record_success()
            raise failure from exc
        except BaseException:
            # Anything else (a token provider that fails, a bug) is a failed call too: a
            # half-open trial left in flight would keep the breaker shut for good.
            self._breaker.record_failure()
            raise
        self._breaker.record_success()
        retries = _retries_taken(reply.request)
        try:
            completion = ChatCompletion.model_validate_json(reply.content)
        except ValueError as exc:
            unreadable = with_latency(call, started, retries=retries, output_valid=False)
            raise UpstreamFailure(
                502,
                "upstream_invalid_response",
                "the model's reply was not a chat completion",
                unreadable,
            ) from exc
        choice = completion.choices[0]
        usage = completion.usage
        call = with_latency(
            call,
            started,
            retries=retries,
            finish_reason=choice.finish_reason,
            content_filter=_filter_verdict(choice.finish_reason, choice.model_extra or {}),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            output_text=choice.message.content,
        )
        return interpret(call, part, count)


_AVAILABILITY_FAILURES = {"upstream_timeout", "upstream_error", "upstream_rate_limited"}


def with_latency(call: CallRecord, started: float, **changes: Any) -> CallRecord:
    """The call record with the latency since `started` and the given changes."""
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return replace(call, upstream_latency_ms=latency_ms, **changes)


def chat_body(
    model: str, messages: list[dict[str, str]], part: int, count: int, settings: Settings
) -> dict[str, Any]:
    """The chat-completions request body for one call."""
    return {
        "model": model,
        "messages": messages,
        "response_format": response_format(part, count),
        "max_tokens": settings.AZURE_OPENAI_MAX_TOKENS,
        "temperature": 0.8,
    }


def _retries_taken(request: httpx2.Request) -> int:
    """Retries the SDK made (it stamps each attempt's request with the count)."""
    return int(request.headers.get("x-stainless-retry-count", "0"))


def map_api_error(exc: openai.APIError, call: CallRecord) -> UpstreamFailure:
    """What the SDK raised (after its retries), as the client's error (README, "API (v1)")."""
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamFailure(504, "upstream_timeout", "the model did not answer in time", call)
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamFailure(502, "upstream_error", "the model could not be reached", call)
    if isinstance(exc, openai.RateLimitError):
        retry_after = exc.response.headers.get("retry-after", "")
        headers = {"Retry-After": retry_after if retry_after.isdigit() else "10"}
        return UpstreamFailure(
            503, "upstream_rate_limited", "the model is throttling requests", call, headers=headers
        )
    if isinstance(exc, openai.BadRequestError) and exc.code == "content_filter":
        filtered = replace(call, content_filter="filtered", finish_reason="content_filter")
        return UpstreamFailure(
            422, "content_filtered", "the topic was refused by the content filter", filtered
        )
    return UpstreamFailure(502, "upstream_error", "the model returned an error", call)


def _filter_verdict(finish_reason: str | None, extra: dict[str, Any]) -> str | None:
    """`filtered`, `passed`, or None when Azure sent no content-filter results."""
    results = extra.get("content_filter_results")
    if finish_reason == "content_filter":
        return "filtered"
    if not isinstance(results, dict):
        return None
    flagged = any(isinstance(v, dict) and v.get("filtered") for v in results.values())
    return "filtered" if flagged else "passed"
