"""A fake Azure OpenAI server: the real chat-completions route and body shapes, on 127.0.0.1.

Tests and benchmarks drive the official `openai` SDK against it over HTTP. Behaviour is
switched at run time with `POST /_control` (JSON):

    {"mode": "ok" | "throttle" | "error" | "hang" | "malformed" | "content_filter_prompt"
             | "content_filter_reply" | "invalid_output" | "length",
     "latency_ms": 0, "times": null, "retry_after": 1}

`times` applies the mode to that many requests, then returns to "ok". `GET /_stats` returns the
number of requests seen and the last request's headers and body.

Run alone: python -m tests.fakes.azure --port 8900 [--latency-ms 1000]
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_server import LocalServer

# What the service answers when the fake fails in each mode (after the SDK's retries).
FAILURE_ANSWERS = {
    "throttle": (503, "upstream_rate_limited"),
    "hang": (504, "upstream_timeout"),
    "error": (502, "upstream_error"),
    "content_filter_prompt": (422, "content_filtered"),
    "content_filter_reply": (422, "content_filtered"),
    "malformed": (502, "upstream_invalid_response"),
    "invalid_output": (502, "upstream_invalid_response"),
    "length": (502, "upstream_invalid_response"),
}
ROUTE = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")


class FakeAzureState:
    def __init__(self, latency_ms: float = 0) -> None:
        self.lock = threading.Lock()
        self.mode = "ok"
        self.latency_ms = latency_ms
        self.times: int | None = None
        self.retry_after = 1
        self.requests = 0
        self.last_headers: dict[str, str] = {}
        self.last_body: dict[str, Any] = {}

    def next_mode(self) -> str:
        with self.lock:
            self.requests += 1
            mode = self.mode
            if self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.times = "ok", None
            return mode


def _reply_content(body: dict[str, Any]) -> str:
    schema_name = body.get("response_format", {}).get("json_schema", {}).get("name", "")
    if schema_name == "ielts_cue_card":
        return json.dumps(
            {
                "question": "Describe a memorable trip you took.",
                "prompts": ["where you went", "who you went with", "what you did"],
                "explain": "and explain why it was memorable.",
            }
        )
    system = body["messages"][0]["content"]
    count = int(re.search(r"Write (\d+) IELTS", system).group(1)) if "Write " in system else 1
    return json.dumps(
        {
            "questions": [
                f"What do you enjoy about travelling, question {i + 1}?" for i in range(count)
            ]
        }
    )


def _completion(body: dict[str, Any], content: str | None, finish_reason: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_fake",
        "prompt_filter_results": [
            {
                "prompt_index": 0,
                "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
            }
        ],
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "logprobs": None,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "content_filter_results": {
                    "hate": {"filtered": finish_reason == "content_filter", "severity": "safe"},
                    "violence": {"filtered": False, "severity": "safe"},
                },
            }
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 48, "total_tokens": 168},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body
    # until the client's delayed ACK (~40 ms on loopback), a delay real Azure does not add.
    disable_nagle_algorithm = True
    server: FakeAzureServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("apim-request-id", str(uuid.uuid4()))
        self.send_header("x-ratelimit-remaining-tokens", "90000")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/_stats":
            with state.lock:
                self._send(
                    200,
                    {
                        "requests": state.requests,
                        "last_headers": state.last_headers,
                        "last_body": state.last_body,
                        "mode": state.mode,
                    },
                )
        else:
            self._send(404, {"error": {"code": "404", "message": "Resource not found"}})

    def do_POST(self) -> None:
        state = self.server.state
        body = self._body()
        if self.path == "/_control":
            with state.lock:
                for name in ("mode", "latency_ms", "times", "retry_after"):
                    if name in body:
                        setattr(state, name, body[name])
                if body.get("reset_stats"):
                    state.requests = 0
            self._send(200, {"ok": True})
            return
        match = ROUTE.match(self.path.split("?", 1)[0])
        if not match or "api-version=" not in self.path:
            self._send(404, {"error": {"code": "404", "message": "Resource not found"}})
            return
        with state.lock:
            state.last_headers = dict(self.headers.items())
            state.last_body = body
        mode = state.next_mode()
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        self._respond(mode, body)

    def _respond(self, mode: str, body: dict[str, Any]) -> None:
        state = self.server.state
        if mode == "hang":
            time.sleep(3600)
        elif mode == "throttle":
            self._send(
                429,
                {
                    "error": {
                        "code": "429",
                        "message": "Requests to the ChatCompletions "
                        "Operation have exceeded the token rate limit.",
                    }
                },
                headers={
                    "Retry-After": str(state.retry_after),
                    "retry-after-ms": str(int(state.retry_after * 1000)),
                },
            )
        elif mode == "error":
            self._send(
                500,
                {"error": {"code": "InternalServerError", "message": "The server had an error."}},
            )
        elif mode == "malformed":
            self._send(200, None, raw=b"<html>upstream proxy error</html>")
        elif mode == "content_filter_prompt":
            self._send(
                400,
                {
                    "error": {
                        "code": "content_filter",
                        "param": "prompt",
                        "status": 400,
                        "message": "The response was filtered due to the prompt triggering Azure "
                        "OpenAI's content management policy.",
                        "innererror": {"code": "ResponsibleAIPolicyViolation"},
                    }
                },
            )
        elif mode == "content_filter_reply":
            self._send(200, _completion(body, None, "content_filter"))
        elif mode == "invalid_output":
            self._send(
                200,
                _completion(
                    body,
                    json.dumps({"question": "Talk about it.", "prompts": [], "explain": ""}),
                    "stop",
                ),
            )
        elif mode == "length":
            self._send(200, _completion(body, '{"question": "Describe a', "length"))
        else:
            self._send(200, _completion(body, _reply_content(body), "stop"))


class FakeAzureServer(LocalServer):
    request_queue_size = 1024

    def __init__(self, port: int = 0, latency_ms: float = 0) -> None:
        super().__init__(Handler, port)
        self.state = FakeAzureState(latency_ms)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class FakeAzure:
    """A running fake upstream, with helpers to switch its behaviour and read its stats."""

    def __init__(self, server: FakeAzureServer) -> None:
        self.server = server
        self.url = server.url

    def set(self, **control: Any) -> None:
        request = urllib.request.Request(
            f"{self.url}/_control",
            data=json.dumps(control).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_stats", timeout=5) as response:
            stats: dict[str, Any] = json.load(response)
            return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()
    server = FakeAzureServer(args.port, args.latency_ms)
    print(f"fake Azure OpenAI listening on {server.url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
