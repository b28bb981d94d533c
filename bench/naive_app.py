"""The peer: the Flask app a user would start from to put Azure OpenAI behind HTTP.

A synchronous view calling the official SDK through one module-level client, served by the
Flask development server with threads. No auth, limits, audit, logging or metrics.

Run: python -m bench.naive_app --port 8901 (AZURE_OPENAI_ENDPOINT points at the upstream)
"""

from __future__ import annotations

import argparse
import json
import os

from flask import Flask, jsonify, request
from flask.wrappers import Response
from openai import AzureOpenAI

app = Flask(__name__)
client = AzureOpenAI(
    azure_endpoint=os.environ.get("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:8900"),
    api_key=os.environ.get("AZURE_OPENAI_API_KEY", "fake-azure-key-0123456789abcdef"),
    api_version="2024-10-21",
    azure_deployment="gpt-4o-bench",
    timeout=20.0,
)
CUE_CARD_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string"},
        "prompts": {"type": "array", "items": {"type": "string"}},
        "explain": {"type": "string"},
    },
    "required": ["question", "prompts", "explain"],
    "additionalProperties": False,
}


@app.post("/v1/questions")
def create_question() -> Response:
    """Ask the model for a cue card on the posted topic and return what it said."""
    topic = request.get_json()["topic"]
    completion = client.chat.completions.create(
        model="gpt-4o-bench",
        messages=[
            {"role": "system", "content": "You write IELTS Speaking Part 2 cue cards as JSON."},
            {"role": "user", "content": f"Topic: {topic}"},
        ],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "ielts_cue_card", "schema": CUE_CARD_SCHEMA, "strict": True},
        },
        max_tokens=600,
        temperature=0.8,
    )
    return jsonify(json.loads(completion.choices[0].message.content or "{}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8901)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
