"""Declaring a view once: its route, the scope a key needs, its limits and its OpenAPI entry.

    admin = Routes(bp, scope="admin")

    @admin.get("/v1/admin/keys", response=KeysPage)
    def list_keys(query: KeysQuery) -> Response:
        '''List API keys.

        In creation order, cursor-paginated; never a secret.
        '''

The decorator's keywords are the other fields of `openapi.Operation`. The docstring's first
paragraph is the operation's summary (without its full stop), the rest its description. A
`query` or `body` parameter is parsed from the request as the model it is annotated with (an
invalid one is refused), and the document lists that model.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast, get_type_hints

from flask import Blueprint, request
from pydantic import BaseModel

from ..auth import require_scope
from ..limits import per_key_limits, per_key_rate_limit
from ..openapi import Operation
from ..validation import parse_body, parse_query

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


class Routes:
    """The views of a blueprint that share who may call them and what limits them.

    `scope`: None for public views; else the scope a key needs, and the key's request limit
    applies. `token_budget`: the key's daily token budget applies as well.
    """

    def __init__(self, bp: Blueprint, scope: str | None = None, *, token_budget: bool = False):
        self.bp = bp
        self.scope = scope
        self.token_budget = token_budget

    def get(self, path: str, **details: Any) -> Callable[[ViewT], ViewT]:
        return self.route("GET", path, **details)

    def post(self, path: str, **details: Any) -> Callable[[ViewT], ViewT]:
        return self.route("POST", path, **details)

    def patch(self, path: str, **details: Any) -> Callable[[ViewT], ViewT]:
        return self.route("PATCH", path, **details)

    def route(self, method: str, path: str, **details: Any) -> Callable[[ViewT], ViewT]:
        """Register the view at `path` and at the operation's deprecated paths."""

        def declare(view: ViewT) -> ViewT:
            operation = _operation(view, details)
            endpoint = self._guarded(_given_inputs(view, operation))
            endpoint.openapi = operation  # type: ignore[attr-defined]
            for rule in (path, *sorted(operation.deprecated_paths)):
                self.bp.add_url_rule(rule, view_func=endpoint, methods=[method])
            return view

        return declare

    def _guarded(self, view: ViewT) -> ViewT:
        if self.scope is None:
            return view
        limited = per_key_limits(view) if self.token_budget else per_key_rate_limit(view)
        return require_scope(self.scope)(limited)


def _operation(view: Callable[..., Any], details: dict[str, Any]) -> Operation:
    """The view's operation: `details`, its docstring, the models its parameters are."""
    summary, _, description = inspect.cleandoc(view.__doc__ or "").partition("\n\n")
    models = get_type_hints(view)
    return Operation(
        " ".join(summary.split()).removesuffix("."),
        " ".join(description.split()) or None,
        query=models.get("query"),
        body=models.get("body"),
        **details,
    )


def _given_inputs(view: ViewT, operation: Operation) -> ViewT:
    """The view, called with its declared query and body parsed from the request."""
    if operation.query is None and operation.body is None:
        return view

    @functools.wraps(view)
    def parsed(**path_arguments: Any) -> Any:
        inputs: dict[str, BaseModel] = {}
        if operation.query is not None:
            inputs["query"] = parse_query(operation.query)
        if operation.body is not None:
            inputs["body"] = _body(operation.body, required=operation.body_required)
        return view(**path_arguments, **inputs)

    return cast(ViewT, parsed)


def _body(model: type[BaseModel], *, required: bool) -> BaseModel:
    """The parsed body; an optional one that is absent is the model's defaults."""
    return parse_body(model) if required or request.content_length else model()
