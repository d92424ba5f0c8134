"""The calculator's word rules skip a rule only when it cannot match: the gated rewrite of any text
is the rewrite with every rule run, and a rule is compiled only once a text needs it."""

from __future__ import annotations

import ast
import itertools
import random
from pathlib import Path

from core._lib import calc_words

ROOT = Path(__file__).resolve().parents[2]
WORDS = [
    "what", "is", "the", "square", "root", "cube", "of", "factorial", "natural", "log", "logarithm",
    "base", "absolute", "value", "sine", "cosine", "tangent", "add", "sum", "and", "to", "plus",
    "subtract", "from", "difference", "between", "multiply", "product", "by", "times", "with",
    "divide", "quotient", "remainder", "when", "divided", "average", "percent", "per", "cent", "%",
    "raised", "power", "squared", "cubed", "multiplied", "x", "over", "added", "minus", "less",
    "modulo", "modulus", "mod", "negative", "×", "÷", "−", "–", "π", "√", "pi", "e", "tau", "sqrt",
    "sin", "ln", "twelve", "hundred", "thousand", "one", "twenty-one", "1,250", "2", "3.5", ".5",
    "(", ")", "(3+4)", "2(3+4)", ")(", "!", "?", "=", "hey", "fame", "please", "calculate", "7x3",
]  # fmt: skip


def _corpus() -> list[str]:
    texts = [line.split("\t", 1)[1] for line in _lines(ROOT / "resources/routing/intent_examples.tsv")]
    plugin = ast.parse((ROOT / "core/calculator.py").read_text())
    texts += [
        node.value
        for node in ast.walk(plugin)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    tests = ast.parse((ROOT / "tests/plugins/test_calculator_plugin.py").read_text())
    texts += [
        node.value
        for node in ast.walk(tests)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    rng = random.Random(15)
    texts += [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) for _ in range(4000)]
    texts += [" ".join(pair) for pair in itertools.product(WORDS, repeat=2)]
    return texts


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_the_gates_never_change_a_rewrite() -> None:
    for text in _corpus():
        assert calc_words._rewrite(text) == calc_words._rewrite(text, gated=False), text


def test_a_plain_question_compiles_only_what_it_needs() -> None:
    rules = [
        calc_words._NUMBER_WORD_RULE,
        *calc_words._RULES,
        calc_words._THOUSANDS,
        calc_words._FUNC_SPACE,
        calc_words._NUM_BEFORE_NAME,
        calc_words._NUM_BEFORE_PAREN,
        calc_words._PAREN_PAREN,
        calc_words._PAREN_DIGIT,
    ]
    for rule in rules:
        rule._compiled = None
    assert calc_words.to_expression("what is 2+2") == "2+2"
    assert [rule.pattern for rule in rules if rule._compiled is not None] == []
    assert calc_words.to_expression("what is twelve times 7") == "12 * 7"
    compiled = [rule for rule in rules if rule._compiled is not None]
    assert calc_words._NUMBER_WORD_RULE in compiled and len(compiled) == 2
