"""GET /openapi.json (generated from the pydantic models) and GET /docs (Swagger UI, offline)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from ..openapi import build_spec
from .routes import Routes

bp = Blueprint("docs", __name__)
public = Routes(bp)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ielts-question-service API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>"""
_STATIC = Path(__file__).resolve().parent.parent / "static"


@public.get("/openapi.json")
def openapi() -> Response:
    """This document.

    The OpenAPI 3.1 document.
    """
    spec = current_app.extensions.get("openapi_spec")
    if spec is None:
        spec = current_app.extensions["openapi_spec"] = build_spec(current_app)
    return jsonify(spec)


@public.get("/docs", content_type="text/html")
def docs() -> Response:
    """API documentation (Swagger UI, served offline).

    A Swagger UI page served entirely by this service (no CDN).
    """
    return Response(_PAGE, mimetype="text/html")


@public.get("/docs/init.js", content_type="text/javascript")
def docs_init() -> Response:
    """The documentation page's script.

    The script that starts Swagger UI (a file: the page's policy forbids inline scripts).
    """
    return send_from_directory(_STATIC, "docs-init.js", max_age=300)


@public.get("/docs/assets/<path:filename>", content_type="application/octet-stream", errors=(404,))
def docs_assets(filename: str) -> Response:
    """The documentation page's assets.

    Swagger UI's own files.
    """
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
