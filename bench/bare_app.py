"""The baseline of the overhead benchmark: a bare Flask endpoint returning the same JSON.

No auth, limits, validation, logging, metrics or audit: it reads the JSON body and returns the
body the full stack returns for the same request (composed once, at import, by the offline
provider). Served by gunicorn with the same deploy/gunicorn.conf.py as the service.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, jsonify, request
from flask.wrappers import Response

from ielts_service.ai.offline import OfflineProvider

from .harness import QUESTION_BODY


def _same_answer() -> dict[str, Any]:
    body = json.loads(QUESTION_BODY)
    generation = OfflineProvider().generate(body["topic"], body["part"])
    return {
        "status": "success",
        "data": {
            "part": body["part"],
            "topic": body["topic"],
            "question": generation.questions[0],
            "prompts": generation.prompts,
            "explain": generation.explain,
            "provider": "offline",
            "model": OfflineProvider.model,
            "usage": {"prompt_tokens": 0, "completion_tokens": 0},
        },
    }


ANSWER = _same_answer()
app = Flask(__name__)


@app.post("/v1/questions")
def create_question() -> Response:
    """Parse the body, return the prepared answer."""
    request.get_json()
    return jsonify(ANSWER)
