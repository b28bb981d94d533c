"""Closed-loop load for drills: clients posting questions, every answer kept with its request id."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    request_id: str
    status: int  # 0: no answer (connection refused or cut, before or during the answer)
    retry_after: str | None
    at: float  # time.monotonic() when it arrived


@dataclass
class Load:
    """`clients` threads posting POST /v1/questions in a loop until stopped."""

    url: str
    key: str
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, clients: int) -> Load:
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(clients)]
        for thread in self._threads:
            thread.start()
        return self

    def succeeded(self) -> int:
        """How many 2xx answers have arrived so far."""
        return sum(1 for answer in list(self.answers) if 200 <= answer.status < 300)

    def stop(self) -> list[Answer]:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        return self.answers

    def _client(self, n: int) -> None:
        sent = 0
        while not self._stop.is_set():
            request_id, sent = f"load-{id(self)}-{n}-{sent}", sent + 1
            self.answers.append(post(self.url, self.key, request_id))  # list.append is atomic


def post(url: str, key: str, request_id: str, timeout: float = 30) -> Answer:
    """One POST /v1/questions named by `request_id`."""
    request = urllib.request.Request(
        f"{url}/v1/questions",
        data=json.dumps({"topic": "a memorable trip"}).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return Answer(request_id, int(response.status), None, time.monotonic())
    except urllib.error.HTTPError as exc:
        exc.read()
        exc.close()
        return Answer(request_id, exc.code, exc.headers.get("Retry-After"), time.monotonic())
    except (OSError, http.client.HTTPException):  # HTTPException: the body cut short
        return Answer(request_id, 0, None, time.monotonic())
