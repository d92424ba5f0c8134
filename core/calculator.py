"""calculator: safe arithmetic from expressions or words, evaluated over the syntax tree (never eval)."""

from __future__ import annotations

import ast
from typing import Any

from core._lib.calc_words import to_expression
from core._lib.safe_eval import CalcError, evaluate_tree, format_number, parse
from fame_plugin_api import HostSlot, PluginHost, error_result, request_text

PLUGIN = {
    "schema_version": 1,
    "name": "calculator",
    "version": "1.0.0",
    "description": "Safe arithmetic: + - * / // % **, parentheses, sqrt, trig, logs, factorial, "
    "percentages and arithmetic in words, with limits on size.",
    "intents": {
        "calculate": [
            "what is 12 times 7",
            "15 percent of 80",
            "square root of 144",
            "2 to the power of 10",
            "12*(3+4)",
            "calculate 1250 / 5 + 3",
            "how much is 45 plus 19",
            "factorial of 6",
            "cos(0) + ln(e)",
            "what's 1000 divided by 8",
        ],
    },
    "keywords": {
        "calculate": [
            "calculate",
            "calculator",
            "compute",
            "evaluate",
            "arithmetic",
            "math",
            "maths",
            "plus",
            "minus",
            "times",
            "multiplied by",
            "multiply",
            "divided by",
            "divide",
            "percent",
            "percentage",
            "square root",
            "cube root",
            "squared",
            "cubed",
            "to the power of",
            "power of",
            "factorial of",
            "sqrt",
            "sin",
            "cos",
            "tan",
            "log",
            "ln",
            "mod",
            "modulo",
            "remainder",
            "sum of",
            "product of",
            "add",
            "subtract",
            "result of",
        ],
    },
    "patterns": {
        "calculate": [
            # Two numbers joined by an operator: "6 * 7", "12*(3+4)", "2**64", "(5 + 3) / 2";
            # the guards keep dates (2024-05-01), versions (3.11) and ranges (1-10 of) out.
            r"(?<![\w.\-/])[(\s]*-?\d+(?:\.\d+)?\s*\)*\s*(?:\*\*|//|[+*/%^×÷]|\s-\s|-(?=\s*\())\s*[(\s]*-?\d+(?:\.\d+)?(?![\w\-/])",
            r"(?<![\w.\-/])\(\s*-?\d+(?:\.\d+)?\s*(?:\*\*|//|[-+*/%^×÷])",
            r"\b(?:sqrt|sin|cos|tan|ln|log|exp|factorial|cbrt)\s*\(\s*[-\d.(pie]",
            r"^\s*what(?:'s| is)\s+-?\d+(?:\.\d+)?\s*(?:plus|minus|times|divided by|mod|squared|cubed|x)\b",
            r"\b\d+(?:\.\d+)?\s*(?:percent|%)\s+of\s+\d",
        ],
    },
    "needs_network": False,
    "timeout_seconds": 5,
    "priority": 10,
}

_HOST = HostSlot("calculator")

EXAMPLES = "`12 * (3 + 4)`, `sqrt(144)`, `15 percent of 80`, `2 to the power of 10`, `factorial(10)`"


def init(manager: PluginHost) -> None:
    """Keep the plugin context (the calculator needs nothing from it but the logger)."""
    _HOST.set(manager)


def calculate(text: str) -> dict[str, Any]:
    """Evaluate ``text`` (an expression or arithmetic in words).

    Returns:
        ``{"expression", "result", "result_text"}``; ``result`` is a JSON number when it fits a
        double exactly, else the exact digits as a string.

    Raises:
        CalcError: The text is not arithmetic or breaks a limit.
    """
    expression = to_expression(text)
    tree = parse(expression)  # once, for the value and for the expression shown
    value = evaluate_tree(tree)
    shown = _pretty(tree, expression)
    exact: int | float | str = value
    if isinstance(value, int) and abs(value) > 2**53:
        exact = str(value)
    return {"expression": shown, "result": exact, "result_text": format_number(value)}


def _pretty(tree: ast.Expression, expression: str) -> str:
    try:
        return ast.unparse(tree)
    except (ValueError, RecursionError):
        return expression


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer a ``calculate`` request.

    A coroutine, so the Brain runs it on its event loop instead of handing it to a worker thread
    (the hand-off cost more than the arithmetic): the limits above bound its work to about a
    millisecond, so it never holds the loop for long.
    """
    text = request_text(request)
    try:
        data = calculate(text)
    except CalcError as exc:
        return error_result(
            exc.code,
            exc.message,
            response=f"I couldn't calculate that: {exc.message}\n\nExamples that work: {EXAMPLES}.",
        )
    result_text = data["result_text"]
    note = ""
    if any(fn in data["expression"] for fn in ("sin(", "cos(", "tan(")):
        note = "\n\n_Angles are in radians (use `pi` for 180°)._"
    response = f"`{data['expression']}` = **{result_text}**{note}"
    return {"response": response, "data": data}
