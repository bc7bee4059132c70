"""A safe arithmetic calculator: parses the expression, never evaluates Python."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from switchboard.core.errors import InvalidToolArguments
from switchboard.tools.registry import Tool

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "tan": math.tan, "log": math.log,
    "exp": math.exp, "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
# Bounds that keep one expression from eating the worker: 10**10**10 would never finish.
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 10**100


def evaluate(expression: str) -> float | int:
    """Value of an arithmetic expression; raises `InvalidToolArguments` for anything else."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise InvalidToolArguments(f"calculator: not an expression: {exc.msg}") from exc
    try:
        return _eval(tree.body)
    except (ZeroDivisionError, OverflowError, ValueError) as exc:
        raise InvalidToolArguments(f"calculator: {exc}") from exc


def _eval(node: ast.AST) -> Any:
    match node:
        case ast.Constant(value=bool()):
            raise InvalidToolArguments("calculator: booleans are not numbers")
        case ast.Constant(value=int() | float() as value):
            return value
        case ast.Name(id=name) if name in _CONSTANTS:
            return _CONSTANTS[name]
        case ast.UnaryOp(op=op, operand=operand) if type(op) in _UNARY:
            return _UNARY[type(op)](_eval(operand))
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            return _binary(op, _eval(left), _eval(right))
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in _FUNCTIONS:
            return _FUNCTIONS[name](*(_eval(arg) for arg in args))
    raise InvalidToolArguments(f"calculator: unsupported element {type(node).__name__}")


def _binary(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Pow) and abs(right) > MAX_EXPONENT:
        raise InvalidToolArguments(f"calculator: exponent above {MAX_EXPONENT}")
    value = _BINARY[type(op)](left, right)
    if isinstance(value, int) and abs(value) > MAX_MAGNITUDE:
        raise InvalidToolArguments("calculator: result too large")
    return value


def _calculate(expression: str) -> dict[str, Any]:
    return {"expression": expression, "value": evaluate(expression)}


CALCULATOR = Tool(
    name="calculator",
    description="Evaluate an arithmetic expression (+ - * / // % **, sqrt, sin, cos, log, pi, e).",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string", "minLength": 1, "maxLength": 200}},
        "required": ["expression"],
        "additionalProperties": False,
    },
    run=_calculate,
    timeout_s=2.0,
)
