"""Turn arithmetic said in words ("what is 12 times 7", "15 percent of 80") into an expression.

The result is handed to :mod:`core._lib.safe_eval`; this module only rewrites text and never
evaluates anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from core._lib.safe_eval import FUNCTIONS

_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
# An operand of a word form: a number, constant or parenthesised group without nesting.
_OPERAND = rf"(?:-?{_NUM}|pi|e|tau|\([^()]*\))"

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORDS = (
    r"\b(?:"
    + "|".join([*_UNITS, *_SCALES])
    + r")(?:[\s-]+(?:and[\s-]+)?(?:"
    + "|".join([*_UNITS, *_SCALES])
    + r"))*\b"
)

# Each rule: (pattern, replacement, gate). The gate lists literals of which the (lower-case) text
# must hold one for the pattern to match; a rule whose gate fails is skipped, and its pattern is
# compiled only when a text first passes its gate. A one-shot ``fame ask "what is 2+2"`` used to
# compile all ~45 of them at import for one query that needs none.
_FUNCTION_WORDS = [
    (rf"\bsquare root of\s+({_OPERAND})", r"sqrt(\1)", ("square root of",)),
    (r"\bsquare root of\b", "sqrt", ("square root of",)),
    (rf"\bcube root of\s+({_OPERAND})", r"cbrt(\1)", ("cube root of",)),
    (r"\bcube root of\b", "cbrt", ("cube root of",)),
    (rf"\bfactorial of\s+({_OPERAND})", r"factorial(\1)", ("factorial of",)),
    (rf"({_NUM})\s*(?:factorial\b|!(?!=))", r"factorial(\1)", ("factorial", "!")),
    (rf"\bnatural log(?:arithm)? of\s+({_OPERAND})", r"ln(\1)", ("natural log",)),
    (rf"\blog(?:arithm)? base\s+({_NUM}) of\s+({_OPERAND})", r"log(\2, \1)", ("log",)),
    (rf"\blog(?:arithm)? of\s+({_OPERAND})", r"log(\1)", ("log",)),
    (rf"\babsolute value of\s+({_OPERAND})", r"abs(\1)", ("absolute value of",)),
    (rf"\b(sine|cosine|tangent) of\s+({_OPERAND})", r"\1(\2)", ("sine", "tangent")),
    (r"\bsine\b", "sin", ("sine",)),
    (r"\bcosine\b", "cos", ("cosine",)),
    (r"\btangent\b", "tan", ("tangent",)),
]

# Verb forms: "add 45 and 67", "subtract 3 from 10", "multiply 6 by 7", "sum of 2 and 3".
_VERB_FORMS = [
    (
        rf"\b(?:add|sum of|sum)\s+({_OPERAND})\s+(?:and|to|plus)\s+({_OPERAND})",
        r"(\1) + (\2)",
        ("add", "sum"),
    ),
    (rf"\bsubtract\s+({_OPERAND})\s+from\s+({_OPERAND})", r"(\2) - (\1)", ("subtract",)),
    (
        rf"\b(?:difference between|difference of)\s+({_OPERAND})\s+and\s+({_OPERAND})",
        r"(\1) - (\2)",
        ("difference",),
    ),
    (
        rf"\b(?:multiply|product of)\s+({_OPERAND})\s+(?:by|and|times|with)\s+({_OPERAND})",
        r"(\1) * (\2)",
        ("multiply", "product of"),
    ),
    (rf"\bdivide\s+({_OPERAND})\s+by\s+({_OPERAND})", r"(\1) / (\2)", ("divide",)),
    (rf"\b(?:quotient of)\s+({_OPERAND})\s+and\s+({_OPERAND})", r"(\1) / (\2)", ("quotient of",)),
    (
        rf"\bremainder (?:of|when)\s+({_OPERAND})\s+(?:divided by|/|is divided by)\s+({_OPERAND})",
        r"(\1) % (\2)",
        ("remainder",),
    ),
    (rf"\baverage of\s+({_OPERAND})\s+and\s+({_OPERAND})", r"((\1) + (\2)) / 2", ("average of",)),
]

_OPERATOR_WORDS = [
    (rf"({_NUM})\s*(?:%|percent|per cent)\s+of\s+", r"\1 / 100 * ", ("%", "percent", "per cent")),
    (rf"({_NUM})\s*(?:percent|per cent)\b", r"(\1 / 100)", ("percent", "per cent")),
    (rf"({_NUM})\s*%(?!\s*[\d(.a-z])", r"(\1 / 100)", ("%",)),
    (
        r"\b(?:raised to the power of|to the power of|to the power|raised to|to the)\b",
        "**",
        ("raised to", "to the"),
    ),
    (rf"({_NUM}|\))\s*squared\b", r"\1 ** 2", ("squared",)),
    (rf"({_NUM}|\))\s*cubed\b", r"\1 ** 3", ("cubed",)),
    (r"\b(?:multiplied by|times)\b", "*", ("multiplied by", "times")),
    (r"(?<=\d)\s*x\s*(?=[\d(])", " * ", ("x",)),
    (r"\b(?:divided by|over)\b", "/", ("divided by", "over")),
    (r"\b(?:plus|added to)\b", "+", ("plus", "added to")),
    (r"\b(?:minus|less)\b", "-", ("minus", "less")),
    (r"\b(?:modulo|modulus|mod)\b", "%", ("mod",)),
    (r"\bnegative\s+", "-", ("negative",)),
    (r"[×✕∗·]", "*", ("×", "✕", "∗", "·")),
    (r"[÷∕]", "/", ("÷", "∕")),
    (r"[−–—]", "-", ("−", "–", "—")),
    (r"π", "pi", ("π",)),
    (r"√\s*", "sqrt ", ("√",)),
]

_FILLER = (
    r"\b(?:hey|fame|ok|okay|please|can|could|would|you|tell|me|what's|what’s|whats|what|how|much|many|is|are|"
    r"the|result|value|answer|of|calculate|calc|compute|evaluate|solve|work|out|figure|equals|equal|"
    r"for|i|need|to|know|do|does|make|get|give|number|math|quick|quickly|simplify|and|"
    r"radians|in)\b|[?=!]+\s*$"
)
_FUNC_NAMES = "|".join(sorted(FUNCTIONS, key=len, reverse=True))


class _Rule:
    """One substitution: compiled when a text first passes its gate, skipped when the text holds
    none of the gate's literals (a necessary condition for the pattern to match, so skipping it
    gives the full scan's result; tests/plugins/test_calculator_words.py holds them to that).

    Compiled once, not per call: a query runs about 45 substitutions, and re's own cache lookup
    per call cost as much as the matching.
    """

    __slots__ = ("_compiled", "gate", "pattern", "repl")

    def __init__(
        self, pattern: str, repl: str | Callable[[re.Match[str]], str], gate: Sequence[str] = ()
    ) -> None:
        self.pattern = pattern
        self.repl = repl
        self.gate = tuple(gate)
        self._compiled: re.Pattern[str] | None = None

    def sub(self, s: str, *, gated: bool = True) -> str:
        """``s`` with every match replaced (``gated=False``: without looking at the gate)."""
        if gated and self.gate and not any(literal in s for literal in self.gate):
            return s
        compiled = self._compiled
        if compiled is None:
            # Two threads may both compile it once: the same pattern, and the assignment is atomic.
            compiled = self._compiled = re.compile(self.pattern)
        return compiled.sub(self.repl, s)


# (_number_words is defined below: the lambda looks it up when a text has number words.)
_NUMBER_WORD_RULE = _Rule(_NUMBER_WORDS, lambda match: _number_words(match), (*_UNITS, *_SCALES))
_RULES = [_Rule(*rule) for rules in (_FUNCTION_WORDS, _VERB_FORMS, _OPERATOR_WORDS) for rule in rules]
_FILLER_RULE = _Rule(_FILLER, " ")
_THOUSANDS = _Rule(r"(?<=\d),(?=\d{3}(?!\d))", "", (",",))
_FUNC_SPACE = _Rule(rf"\b({_FUNC_NAMES})\s+({_OPERAND})", r"\1(\2)", tuple(FUNCTIONS))
_NUM_BEFORE_NAME = _Rule(
    rf"(?<![a-z_\d.])({_NUM})\s*(?=(?:pi|tau|e(?![-+]?\d)|{_FUNC_NAMES})\b)",
    r"\1*",
    ("pi", "tau", "e", *FUNCTIONS),
)
_NUM_BEFORE_PAREN = _Rule(rf"(?<![a-z_\d.])({_NUM})\s*(?=\()", r"\1*", ("(",))
_PAREN_PAREN = _Rule(r"\)\s*(?=\()", ")*", (")",))
_PAREN_DIGIT = _Rule(r"\)\s*(?=\d)", ")*", (")",))
_CALL = re.compile(r"[a-z]\s*\(")
_SPACES = re.compile(r"\s+")
_PLAIN = re.compile(r"[\d\s.+\-*/()]*")
_WORD_SPLIT = re.compile(r"[\s-]+")


def _number_words(match: re.Match[str]) -> str:
    total, current = 0, 0
    for word in _WORD_SPLIT.split(match.group(0)):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[word]
            current = 0
    return str(total + current)


def to_expression(text: str) -> str:
    """Rewrite ``text`` into arithmetic syntax for :func:`core._lib.safe_eval.evaluate`.

    Words the calculator does not know are left in place, so the evaluator can name them.
    """
    return _rewrite(text)


def _rewrite(text: str, *, gated: bool = True) -> str:
    """:func:`to_expression`; ``gated=False`` runs every rule (what the gates must not change)."""
    s = text.strip().lower()
    if _PLAIN.fullmatch(s):
        # Digits, operators and parentheses only ("12 * (3 + 4)"): no word, comma, percent or
        # symbol rule can match, only the implicit products and the spacing below.
        return _tidy(s, gated=gated)
    s = _THOUSANDS.sub(s, gated=gated) if not _CALL.search(s) else s
    s = _NUMBER_WORD_RULE.sub(s, gated=gated)
    for rule in _RULES:
        s = rule.sub(s, gated=gated)
    s = _FILLER_RULE.sub(s, gated=gated)
    # "sqrt 144" -> "sqrt(144)", "2pi" -> "2*pi", "2(3+4)" -> "2*(3+4)".
    s = _FUNC_SPACE.sub(s, gated=gated)
    s = _NUM_BEFORE_NAME.sub(s, gated=gated)
    return _tidy(s, gated=gated)


def _tidy(s: str, *, gated: bool = True) -> str:
    """Implicit products ("2(3+4)", ")(", ")2") made explicit, spacing collapsed."""
    s = _NUM_BEFORE_PAREN.sub(s, gated=gated)
    s = _PAREN_PAREN.sub(s, gated=gated)
    s = _PAREN_DIGIT.sub(s, gated=gated)
    return _SPACES.sub(" ", s).strip(" ,.;:")
