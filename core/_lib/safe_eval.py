"""A safe arithmetic evaluator over Python's syntax tree (never ``eval``).

Only numbers, the operators ``+ - * / // % **``, unary signs, parentheses, a fixed set of
functions and the constants ``pi``, ``e`` and ``tau`` are accepted. Every step is bounded: input
length, tree size and depth, exponent, factorial argument and result size, so no input can hang
the process or eat its memory. Every failure is a :class:`CalcError` with a code and a fix.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

Number = int | float

MAX_INPUT_CHARS = 500
MAX_NODES = 300
MAX_DEPTH = 60
#: Integers may have about 1,000 decimal digits.
MAX_INT_BITS = 3322
MAX_FACTORIAL = 400
MAX_ROUND_DIGITS = 15


class CalcError(ValueError):
    """An expression the calculator cannot evaluate.

    Args:
        code: ``invalid_expression``, ``division_by_zero``, ``too_large`` or ``domain_error``.
        message: What happened and how to fix it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _too_large(what: str) -> CalcError:
    return CalcError(
        "too_large",
        f"The result of {what} is too large to compute (the limits are about 1,000 digits for whole "
        "numbers and 1.8 × 10^308 for decimals). Use smaller numbers or exponents.",
    )


def _domain(what: str) -> CalcError:
    return CalcError("domain_error", f"{what} is not a real number. Check the input.")


def _check_int(value: Number, what: str) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_large(what)
    return value


def _as_float(value: Number, what: str) -> float:
    try:
        return float(value)
    except OverflowError as exc:
        raise _too_large(what) from exc


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise _domain("The square root of a negative number")
    if isinstance(x, int):
        root = math.isqrt(x)
        if root * root == x:
            return root
    return math.sqrt(_as_float(x, "sqrt"))


def _cbrt(x: Number) -> Number:
    if isinstance(x, int):
        guess = round(math.cbrt(abs(_as_float(x, "cbrt"))))
        for candidate in (guess - 1, guess, guess + 1):
            if candidate * candidate * candidate == abs(x):
                return candidate if x >= 0 else -candidate
    return math.cbrt(_as_float(x, "cbrt"))


def _log(x: Number, base: Number = 10) -> float:
    if x <= 0:
        raise _domain("The logarithm of zero or a negative number")
    if base <= 0 or base == 1:
        raise CalcError("domain_error", "A logarithm base must be positive and not 1.")
    if base == 10:
        return math.log10(x)
    if base == 2:
        return math.log2(x)
    return math.log(x) / math.log(base)


def _ln(x: Number) -> float:
    if x <= 0:
        raise _domain("The natural logarithm of zero or a negative number")
    return math.log(x)


def _factorial(x: Number) -> int:
    if isinstance(x, float):
        if not x.is_integer():
            raise CalcError("domain_error", "Factorials are defined for whole numbers 0 and up.")
        x = int(x)
    if x < 0:
        raise CalcError("domain_error", "Factorials are defined for whole numbers 0 and up.")
    if x > MAX_FACTORIAL:
        raise CalcError(
            "too_large",
            f"Factorials are limited to {MAX_FACTORIAL}! (you asked for {x}!). Use a smaller number.",
        )
    return math.factorial(x)


def _round(x: Number, digits: Number = 0) -> Number:
    if not isinstance(digits, int) or abs(digits) > MAX_ROUND_DIGITS:
        raise CalcError(
            "invalid_expression",
            f"round(x, n) needs a whole number n between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}.",
        )
    if digits == 0:
        return round(x)
    return round(x, digits)


def _int_of(fn: Callable[[float], int], name: str) -> Callable[[Number], int]:
    def apply(x: Number) -> int:
        return x if isinstance(x, int) else fn(x)

    apply.__name__ = name
    return apply


def _trig(fn: Callable[[float], float], name: str) -> Callable[[Number], float]:
    def apply(x: Number) -> float:
        return fn(_as_float(x, name))

    apply.__name__ = name
    return apply


@dataclass(frozen=True)
class _Function:
    fn: Callable[..., Number]
    min_args: int
    max_args: int


FUNCTIONS: dict[str, _Function] = {
    "sqrt": _Function(_sqrt, 1, 1),
    "cbrt": _Function(_cbrt, 1, 1),
    "sin": _Function(_trig(math.sin, "sin"), 1, 1),
    "cos": _Function(_trig(math.cos, "cos"), 1, 1),
    "tan": _Function(_trig(math.tan, "tan"), 1, 1),
    "asin": _Function(_trig(math.asin, "asin"), 1, 1),
    "acos": _Function(_trig(math.acos, "acos"), 1, 1),
    "atan": _Function(_trig(math.atan, "atan"), 1, 1),
    "log": _Function(_log, 1, 2),
    "log10": _Function(lambda x: _log(x, 10), 1, 1),
    "log2": _Function(lambda x: _log(x, 2), 1, 1),
    "ln": _Function(_ln, 1, 1),
    "exp": _Function(lambda x: math.exp(_as_float(x, "exp")), 1, 1),
    "abs": _Function(abs, 1, 1),
    "round": _Function(_round, 1, 2),
    "floor": _Function(_int_of(math.floor, "floor"), 1, 1),
    "ceil": _Function(_int_of(math.ceil, "ceil"), 1, 1),
    "factorial": _Function(_factorial, 1, 1),
}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _power(base: Number, exp: Number) -> Number:
    if isinstance(base, int) and isinstance(exp, int) and exp >= 0:
        # Estimate the size before computing: 10**100000 must be refused, not built.
        if abs(base) > 1 and (exp.bit_length() > 32 or exp * math.log2(abs(base)) > MAX_INT_BITS):
            raise _too_large(f"{base} ** {exp}")
        exact: int = pow(base, exp)
        return exact
    if base == 0 and exp < 0:
        raise CalcError("division_by_zero", "Zero to a negative power divides by zero.")
    try:
        result: float | complex = _as_float(base, "**") ** _as_float(exp, "**")
    except OverflowError as exc:
        raise _too_large("that power") from exc
    except ZeroDivisionError as exc:
        raise CalcError("division_by_zero", "Zero to a negative power divides by zero.") from exc
    if isinstance(result, complex):
        raise _domain("A fractional power of a negative number")
    return result


def _divide(a: Number, b: Number, op: str) -> Number:
    if b == 0:
        raise CalcError("division_by_zero", "Division by zero is undefined. Check the divisor.")
    if op == "/":
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            return a // b
        try:
            return a / b
        except OverflowError as exc:
            raise _too_large("that division") from exc
    if op == "//":
        return a // b
    return a % b


def _binary(op: ast.operator, a: Number, b: Number) -> Number:
    if isinstance(op, ast.Add):
        return _check_int(a + b, "that sum")
    if isinstance(op, ast.Sub):
        return _check_int(a - b, "that difference")
    if isinstance(op, ast.Mult):
        if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
            raise _too_large("that product")
        return _check_int(a * b, "that product")
    if isinstance(op, ast.Div):
        return _divide(a, b, "/")
    if isinstance(op, ast.FloorDiv):
        return _divide(a, b, "//")
    if isinstance(op, ast.Mod):
        return _divide(a, b, "%")
    if isinstance(op, ast.Pow):
        return _check_int(_power(a, b), "that power")
    raise CalcError(
        "invalid_expression",
        f"The operator {type(op).__name__} is not supported; use + - * / // % and ** (or ^).",
    )


class _Evaluator:
    def __init__(self) -> None:
        self.nodes = 0

    def eval(self, node: ast.AST, depth: int = 0) -> Number:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise CalcError("too_large", "The expression is too long or too deeply nested; split it up.")
        if isinstance(node, ast.Expression):
            return self.eval(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CalcError("invalid_expression", f"{value!r} is not a number.")
            return _check_int(value, "that number")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            operand = self.eval(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else +operand
        if isinstance(node, ast.BinOp):
            left = self.eval(node.left, depth + 1)
            right = self.eval(node.right, depth + 1)
            return _binary(node.op, left, right)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id in FUNCTIONS:
                raise CalcError("invalid_expression", f"{node.id} is a function: write {node.id}(x).")
            raise CalcError(
                "invalid_expression",
                f"I don't know {node.id!r}. Known constants: {', '.join(CONSTANTS)}; "
                f"functions: {', '.join(FUNCTIONS)}.",
            )
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise CalcError(
            "invalid_expression",
            "Only numbers, + - * / // % ** (or ^), parentheses, functions such as sqrt(x) "
            "and the constants pi and e are allowed.",
        )

    def _call(self, node: ast.Call, depth: int) -> Number:
        if not isinstance(node.func, ast.Name):
            raise CalcError("invalid_expression", "Only plain function calls such as sqrt(x) are allowed.")
        if node.func.id not in FUNCTIONS:
            raise CalcError(
                "invalid_expression",
                f"I don't know the function {node.func.id!r}; known: {', '.join(FUNCTIONS)}.",
            )
        spec = FUNCTIONS[node.func.id]
        if node.keywords or not spec.min_args <= len(node.args) <= spec.max_args:
            want = (
                str(spec.min_args) if spec.min_args == spec.max_args else f"{spec.min_args}-{spec.max_args}"
            )
            raise CalcError("invalid_expression", f"{node.func.id}() takes {want} argument(s).")
        args = [self.eval(arg, depth + 1) for arg in node.args]
        try:
            result = spec.fn(*args)
        except CalcError:
            raise
        except OverflowError as exc:
            raise _too_large(f"{node.func.id}()") from exc
        except (ValueError, ZeroDivisionError) as exc:
            raise _domain(f"{node.func.id}() of that value") from exc
        return _check_int(result, f"{node.func.id}()")


_GLUED_NUMBER = re.compile(r"(?<![\w.])(?>\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?)[A-Za-z_]\w*")


def parse(expression: str) -> ast.Expression:
    """Parse ``expression`` (Python arithmetic syntax, ``^`` meaning power).

    Raises:
        CalcError: Empty, too long or not an arithmetic expression.
    """
    text = expression.strip()
    if not text:
        raise CalcError("invalid_expression", "There is no expression to calculate. Try `12 * (3 + 4)`.")
    if len(text) > MAX_INPUT_CHARS:
        raise CalcError("too_large", f"The expression is longer than {MAX_INPUT_CHARS} characters.")
    text = text.replace("^", "**")
    glued = _GLUED_NUMBER.search(text)
    if glued:
        # Python would warn about "1if" or read "1j" as complex; neither is arithmetic here.
        raise CalcError(
            "invalid_expression",
            f"`{glued.group(0)}` runs a number into letters; put an operator between them (e.g. `2*pi`).",
        )
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, SyntaxWarning, ValueError, RecursionError, MemoryError) as exc:
        raise CalcError(
            "invalid_expression",
            f"`{expression.strip()[:80]}` is not an arithmetic expression I can read. "
            "Try something like `12 * (3 + 4)` or `sqrt(144)`.",
        ) from exc


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression safely.

    Returns:
        An ``int`` when the result is exact and whole, else a ``float``.

    Raises:
        CalcError: The expression is invalid, divides by zero, leaves a function's domain or
            exceeds a size limit.
    """
    return evaluate_tree(parse(expression))


def evaluate_tree(tree: ast.Expression) -> Number:
    """:func:`evaluate` of an expression already parsed with :func:`parse`.

    Raises:
        CalcError: As :func:`evaluate` (but for reading the text).
    """
    try:
        result = _Evaluator().eval(tree)
    except RecursionError as exc:
        raise CalcError("too_large", "The expression is too deeply nested; split it up.") from exc
    except OverflowError as exc:
        raise _too_large("that expression") from exc
    except ZeroDivisionError as exc:
        raise CalcError("division_by_zero", "Division by zero is undefined. Check the divisor.") from exc
    if isinstance(result, float):
        if math.isnan(result):
            raise _domain("That expression")
        if math.isinf(result):
            raise _too_large("that expression")
    return result


def format_number(value: Number) -> str:
    """A result as a person reads it: exact integers in full, floats to 12 significant digits."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.12g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa} × 10^{int(exponent)}"
    return text
