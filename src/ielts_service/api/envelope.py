"""The success envelope every view answers with (errors have theirs in errors.py)."""

from __future__ import annotations

from flask import Response, jsonify
from pydantic import BaseModel


def success(data: BaseModel, status: int = 200) -> Response:
    """The success envelope: exactly `status` and `data`."""
    response = jsonify({"status": "success", "data": data.model_dump(mode="json")})
    response.status_code = status
    return response
