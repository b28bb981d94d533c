"""What a PromQL expression measures and how far back it reads, from its syntax tree.

Kinds follow Prometheus naming: a counter counts events (or the unit its name ends with, such
as `tokens`), rate() makes it per second, increase() a count, a quotient of two equal kinds a
ratio, histogram_quantile() over `*_seconds_bucket` seconds; a gauge is its own kind.
Recording rules are replaced by their expressions.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import timedelta

import promql_parser as pp

NUMBER = "number"  # a literal: takes the kind of what it is combined with
MIXED = "mixed"
COUNTED_UNITS = ("tokens", "bytes", "seconds")
COMPARISONS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
COMPARISONS |= {"==": operator.eq, "!=": operator.ne}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
_KEEP_KIND = {"abs", "ceil", "floor", "round", "clamp_min", "clamp_max", "sort", "sort_desc"}
_OVER_TIME = {"avg_over_time", "max_over_time", "min_over_time", "last_over_time"}


def _selector_kind(name: str, recorded: Mapping[str, str]) -> str:
    if name in recorded:
        return value_kind(recorded[name], recorded)
    if name.endswith("_ratio"):  # a gauge named for what it is: a share of something
        return "ratio"
    if name.endswith(("_count", "_bucket")):  # a histogram's observations
        return "counter:events"
    if name.endswith(("_total", "_sum")):
        stem = name.removesuffix("_total").removesuffix("_sum")
        unit = next((unit for unit in COUNTED_UNITS if stem.endswith(f"_{unit}")), "events")
        return f"counter:{unit}"
    return f"gauge:{name}"


def _unify(*kinds: str) -> str:
    found = {kind for kind in kinds if kind != NUMBER}
    if not found:
        return NUMBER
    return found.pop() if len(found) == 1 else MIXED


def _divide(lhs: str, rhs: str) -> str:
    if rhs == NUMBER:
        return lhs
    if lhs == rhs and MIXED not in (lhs, rhs):
        return "ratio"
    if lhs.endswith("/s") and rhs == "events/s":  # a mean per event: seconds, tokens per call
        return lhs.removesuffix("/s")
    return MIXED


def _call_kind(node: pp.Call, recorded: Mapping[str, str]) -> str:
    name = node.func.name
    args = [_kind(arg, recorded) for arg in node.args]
    if name in ("rate", "irate"):
        return args[0].replace("counter:", "") + "/s"
    if name == "increase":
        return args[0].replace("counter:", "")
    if name == "histogram_quantile":
        bucket = next(iter(_selector_names(node.args[1])), "")
        return "seconds" if bucket.endswith("_seconds_bucket") else MIXED
    if name == "vector":
        return NUMBER
    if name in _KEEP_KIND | _OVER_TIME:
        return args[0]
    return f"{name}()"


def _selector_names(node: pp.Expr) -> list[str]:
    names: list[str] = []

    def visit(child: pp.Expr) -> None:
        if isinstance(child, pp.VectorSelector) and child.name:
            names.append(child.name)

    pp.walk(node, visit)
    return names


def _kind(node: pp.Expr, recorded: Mapping[str, str]) -> str:
    if isinstance(node, pp.NumberLiteral):
        return NUMBER
    if isinstance(node, pp.VectorSelector):
        return _selector_kind(node.name, recorded)
    if isinstance(node, pp.MatrixSelector):
        return _kind(node.vector_selector, recorded)
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return _kind(node.expr, recorded)
    if isinstance(node, pp.Call):
        return _call_kind(node, recorded)
    if isinstance(node, pp.AggregateExpr):
        return "events" if str(node.op) in ("count", "count_values") else _kind(node.expr, recorded)
    if isinstance(node, pp.BinaryExpr):
        return _binary_kind(node, recorded)
    return MIXED


def _binary_kind(node: pp.BinaryExpr, recorded: Mapping[str, str]) -> str:
    op, lhs, rhs = str(node.op), _kind(node.lhs, recorded), _kind(node.rhs, recorded)
    if op in COMPARISONS or op in ("and", "unless"):
        return lhs
    if op == "/":
        return _divide(lhs, rhs)
    if op == "*" and NUMBER in (lhs, rhs):
        return _unify(lhs, rhs)
    if op in ("+", "-", "or"):
        return _unify(lhs, rhs)
    return MIXED


def value_kind(expr: str, recorded: Mapping[str, str]) -> str:
    """The kind of value EXPR returns (`events/s`, `ratio`, `seconds`, `gauge:up`, …)."""
    return _kind(pp.parse(expr), recorded)


def lookback(expr: str) -> timedelta:
    """How far back from its evaluation time EXPR reads raw samples (ranges plus offsets)."""
    return _lookback(pp.parse(expr))


def _offset(node: pp.Expr) -> timedelta:
    return getattr(node, "offset", None) or timedelta(0)


def _lookback(node: pp.Expr) -> timedelta:
    if isinstance(node, pp.MatrixSelector):
        return node.range + _offset(node.vector_selector)
    if isinstance(node, pp.VectorSelector):
        return _offset(node)
    if isinstance(node, pp.SubqueryExpr):
        return node.range + _offset(node) + _lookback(node.expr)
    children: list[pp.Expr] = []
    if isinstance(node, pp.BinaryExpr):
        children = [node.lhs, node.rhs]
    elif isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.AggregateExpr):
        children = [node.expr]
    elif isinstance(node, pp.Call):
        children = list(node.args)
    return max((_lookback(child) for child in children), default=timedelta(0))


def _constant(node: pp.Expr, recorded: Mapping[str, str]) -> float | None:
    """The value of NODE when it is a constant: a number, arithmetic of numbers, vector(N)."""
    if isinstance(node, pp.NumberLiteral):
        return float(node.val)
    if isinstance(node, pp.ParenExpr):
        return _constant(node.expr, recorded)
    if isinstance(node, pp.Call) and node.func.name == "vector":
        return _constant(node.args[0], recorded)
    if isinstance(node, pp.VectorSelector) and node.name in recorded:
        return _constant(pp.parse(recorded[node.name]), recorded)
    if isinstance(node, pp.BinaryExpr) and str(node.op) in _ARITHMETIC:
        lhs, rhs = _constant(node.lhs, recorded), _constant(node.rhs, recorded)
        if lhs is not None and rhs is not None:
            return _ARITHMETIC[str(node.op)](lhs, rhs)
    return None


def alert_levels(expr: str, recorded: Mapping[str, str]) -> set[tuple[str, float]]:
    """(kind of the compared value, level) of every comparison with a constant in EXPR."""
    levels: set[tuple[str, float]] = set()

    def visit(node: pp.Expr) -> None:
        if isinstance(node, pp.BinaryExpr) and str(node.op) in COMPARISONS:
            level = _constant(node.rhs, recorded)
            if level is not None:
                levels.add((_kind(node.lhs, recorded), round(level, 12)))

    pp.walk(pp.parse(expr), visit)
    return levels
