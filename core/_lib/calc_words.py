"""Turn arithmetic said in words ("what is 12 times 7", "15 percent of 80") into an expression.

The result is handed to :mod:`core._lib.safe_eval`; this module only rewrites text and never
evaluates anything.
"""

from __future__ import annotations

import re

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
_NUMBER_WORDS = re.compile(
    r"\b(?:"
    + "|".join([*_UNITS, *_SCALES])
    + r")(?:[\s-]+(?:and[\s-]+)?(?:"
    + "|".join([*_UNITS, *_SCALES])
    + r"))*\b"
)

_FUNCTION_WORDS = [
    (rf"\bsquare root of\s+({_OPERAND})", r"sqrt(\1)"),
    (r"\bsquare root of\b", "sqrt"),
    (rf"\bcube root of\s+({_OPERAND})", r"cbrt(\1)"),
    (r"\bcube root of\b", "cbrt"),
    (rf"\bfactorial of\s+({_OPERAND})", r"factorial(\1)"),
    (rf"({_NUM})\s*(?:factorial\b|!(?!=))", r"factorial(\1)"),
    (rf"\bnatural log(?:arithm)? of\s+({_OPERAND})", r"ln(\1)"),
    (rf"\blog(?:arithm)? base\s+({_NUM}) of\s+({_OPERAND})", r"log(\2, \1)"),
    (rf"\blog(?:arithm)? of\s+({_OPERAND})", r"log(\1)"),
    (rf"\babsolute value of\s+({_OPERAND})", r"abs(\1)"),
    (rf"\b(sine|cosine|tangent) of\s+({_OPERAND})", r"\1(\2)"),
    (r"\bsine\b", "sin"),
    (r"\bcosine\b", "cos"),
    (r"\btangent\b", "tan"),
]

# Verb forms: "add 45 and 67", "subtract 3 from 10", "multiply 6 by 7", "sum of 2 and 3".
_VERB_FORMS = [
    (rf"\b(?:add|sum of|sum)\s+({_OPERAND})\s+(?:and|to|plus)\s+({_OPERAND})", r"(\1) + (\2)"),
    (rf"\bsubtract\s+({_OPERAND})\s+from\s+({_OPERAND})", r"(\2) - (\1)"),
    (rf"\b(?:difference between|difference of)\s+({_OPERAND})\s+and\s+({_OPERAND})", r"(\1) - (\2)"),
    (rf"\b(?:multiply|product of)\s+({_OPERAND})\s+(?:by|and|times|with)\s+({_OPERAND})", r"(\1) * (\2)"),
    (rf"\bdivide\s+({_OPERAND})\s+by\s+({_OPERAND})", r"(\1) / (\2)"),
    (rf"\b(?:quotient of)\s+({_OPERAND})\s+and\s+({_OPERAND})", r"(\1) / (\2)"),
    (
        rf"\bremainder (?:of|when)\s+({_OPERAND})\s+(?:divided by|/|is divided by)\s+({_OPERAND})",
        r"(\1) % (\2)",
    ),
    (rf"\baverage of\s+({_OPERAND})\s+and\s+({_OPERAND})", r"((\1) + (\2)) / 2"),
]

_OPERATOR_WORDS = [
    (rf"({_NUM})\s*(?:%|percent|per cent)\s+of\s+", r"\1 / 100 * "),
    (rf"({_NUM})\s*(?:percent|per cent)\b", r"(\1 / 100)"),
    (rf"({_NUM})\s*%(?!\s*[\d(.a-z])", r"(\1 / 100)"),
    (r"\b(?:raised to the power of|to the power of|to the power|raised to|to the)\b", "**"),
    (rf"({_NUM}|\))\s*squared\b", r"\1 ** 2"),
    (rf"({_NUM}|\))\s*cubed\b", r"\1 ** 3"),
    (r"\b(?:multiplied by|times)\b", "*"),
    (r"(?<=\d)\s*x\s*(?=[\d(])", " * "),
    (r"\b(?:divided by|over)\b", "/"),
    (r"\b(?:plus|added to)\b", "+"),
    (r"\b(?:minus|less)\b", "-"),
    (r"\b(?:modulo|modulus|mod)\b", "%"),
    (r"\bnegative\s+", "-"),
    (r"[×✕∗·]", "*"),
    (r"[÷∕]", "/"),
    (r"[−–—]", "-"),
    (r"π", "pi"),
    (r"√\s*", "sqrt "),
]

_FILLER = re.compile(
    r"\b(?:hey|fame|ok|okay|please|can|could|would|you|tell|me|what's|what’s|whats|what|how|much|many|is|are|"
    r"the|result|value|answer|of|calculate|calc|compute|evaluate|solve|work|out|figure|equals|equal|"
    r"for|i|need|to|know|do|does|make|get|give|number|math|quick|quickly|simplify|and|"
    r"radians|in)\b|[?=!]+\s*$"
)
_FUNC_NAMES = "|".join(sorted(FUNCTIONS, key=len, reverse=True))

# Compiled once: a query runs about 45 substitutions, and re's own cache lookup per call cost
# as much as the matching.
_RULES = [
    (re.compile(pattern), repl)
    for rules in (_FUNCTION_WORDS, _VERB_FORMS, _OPERATOR_WORDS)
    for pattern, repl in rules
]
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_CALL = re.compile(r"[a-z]\s*\(")
_FUNC_SPACE = re.compile(rf"\b({_FUNC_NAMES})\s+({_OPERAND})")
_NUM_BEFORE_NAME = re.compile(rf"(?<![a-z_\d.])({_NUM})\s*(?=(?:pi|tau|e(?![-+]?\d)|{_FUNC_NAMES})\b)")
_NUM_BEFORE_PAREN = re.compile(rf"(?<![a-z_\d.])({_NUM})\s*(?=\()")
_PAREN_PAREN = re.compile(r"\)\s*(?=\()")
_PAREN_DIGIT = re.compile(r"\)\s*(?=\d)")
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
    s = text.strip().lower()
    if _PLAIN.fullmatch(s):
        # Digits, operators and parentheses only ("12 * (3 + 4)"): no word, comma, percent or
        # symbol rule can match, only the implicit products and the spacing below.
        return _tidy(s)
    s = _THOUSANDS.sub("", s) if not _CALL.search(s) else s
    s = _NUMBER_WORDS.sub(_number_words, s)
    for pattern, repl in _RULES:
        s = pattern.sub(repl, s)
    s = _FILLER.sub(" ", s)
    # "sqrt 144" -> "sqrt(144)", "2pi" -> "2*pi", "2(3+4)" -> "2*(3+4)".
    s = _FUNC_SPACE.sub(r"\1(\2)", s)
    s = _NUM_BEFORE_NAME.sub(r"\1*", s)
    return _tidy(s)


def _tidy(s: str) -> str:
    """Implicit products ("2(3+4)", ")(", ")2") made explicit, spacing collapsed."""
    s = _NUM_BEFORE_PAREN.sub(r"\1*", s)
    s = _PAREN_PAREN.sub(")*", s)
    s = _PAREN_DIGIT.sub(")*", s)
    return _SPACES.sub(" ", s).strip(" ,.;:")
