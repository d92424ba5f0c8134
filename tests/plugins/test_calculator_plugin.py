"""The calculator plugin: expressions, words, limits and errors through init + handle."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plugin_harness import CORE, Harness

from core._lib.safe_eval import CalcError, evaluate, format_number
from fame_plugin_api import read_manifest


@pytest.fixture
def calc(plugin: Callable[..., Harness]) -> Harness:
    return plugin("calculator")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("12*(3+4)", "84"),
        ("what is 2 + 2", "4"),
        ("(5 + 3) / 2", "4"),
        ("2**64", "18446744073709551616"),
        ("2^10", "1024"),
        ("-5 // 2", "-3"),
        ("17 % 5", "2"),
        ("-(3 - 10)", "7"),
        ("3.5 * 4.2", "14.7"),
        ("0.1 + 0.2", "0.3"),
        ("1/3", "0.333333333333"),
        ("1e3 / 8", "125"),
        ("2.5e-3 * 2", "0.005"),
        ("1_000 + 1", "1001"),
        ("sqrt(144)", "12"),
        ("sqrt(2)", "1.41421356237"),
        ("sin(pi/2)", "1"),
        ("cos(0) + ln(e)", "2"),
        ("tan(pi/4)", "1"),
        ("log(1000)", "3"),
        ("log(8, 2)", "3"),
        ("exp(0)", "1"),
        ("abs(-3.5)", "3.5"),
        ("round(3.14159, 2)", "3.14"),
        ("round(2.5)", "2"),
        ("floor(2.7) + ceil(2.1)", "5"),
        ("factorial(10)", "3628800"),
        ("10!", "3628800"),
        ("2(3+4)", "14"),
        ("2pi", "6.28318530718"),
        ("1,234 + 1", "1235"),
    ],
)
async def test_expressions_give_the_right_result(calc: Harness, text: str, shown: str) -> None:
    result = await calc.ask(text, "calculate")
    assert "error" not in result, result
    assert result["data"]["result_text"] == shown
    assert f"**{shown}**" in result["response"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("what is 12 times 7", "84"),
        ("15 percent of 80", "12"),
        ("compute 15% of 80", "12"),
        ("square root of 144", "12"),
        ("what's 2 to the power of 10", "1024"),
        ("calculate 1234 divided by 7", "176.285714286"),
        ("how much is 17 times 23", "391"),
        ("what is 100 minus 37", "63"),
        ("factorial of 10", "3628800"),
        ("what is 7 squared", "49"),
        ("3 cubed", "27"),
        ("add 45 and 67", "112"),
        ("subtract 3 from 10", "7"),
        ("multiply 6 by 7", "42"),
        ("divide 1 by 4", "0.25"),
        ("what is 9 mod 4", "1"),
        ("what is the result of 81 / 9", "9"),
        ("what is twelve times seven", "84"),
        ("twenty five plus one hundred and three", "128"),
        ("cube root of 27", "3"),
        ("average of 4 and 10", "7"),
        ("what’s 3 x 4?", "12"),
        ("negative 5 plus 2", "-3"),
        ("log base 2 of 1024", "10"),
    ],
)
async def test_arithmetic_in_words(calc: Harness, text: str, shown: str) -> None:
    result = await calc.ask(text, "calculate")
    assert "error" not in result, result
    assert result["data"]["result_text"] == shown


async def test_answer_shows_the_expression_it_understood(calc: Harness) -> None:
    result = await calc.ask("what is 12 times 7", "calculate")
    assert result["response"].startswith("`12 * 7` = **84**")
    assert result["data"] == {"expression": "12 * 7", "result": 84, "result_text": "84"}


async def test_trig_answers_say_angles_are_radians(calc: Harness) -> None:
    result = await calc.ask("sin(1)", "calculate")
    assert "radians" in result["response"]


async def test_big_integers_are_exact_and_json_safe(calc: Harness) -> None:
    result = await calc.ask("factorial(25)", "calculate")
    assert result["data"]["result"] == str(math.factorial(25))


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        ("1/0", "division_by_zero", "Division by zero"),
        ("5 % 0", "division_by_zero", "Division by zero"),
        ("7 // (3 - 3)", "division_by_zero", "Division by zero"),
        ("0 ** -1", "division_by_zero", "negative power"),
        ("10**10000", "too_large", "too large"),
        ("9**9**9", "too_large", "too large"),
        ("factorial(1000)", "too_large", "limited to 400!"),
        ("exp(1000)", "too_large", "too large"),
        ("1e308 * 10", "too_large", "too large"),
        ("sqrt(-1)", "domain_error", "square root of a negative"),
        ("log(0)", "domain_error", "logarithm"),
        ("(-8) ** (1/3)", "domain_error", "fractional power"),
        ("factorial(2.5)", "domain_error", "whole numbers"),
        ("round(2.5, 400)", "invalid_expression", "round(x, n)"),
        ("hello world", "invalid_expression", "hello"),
        ("2 +", "invalid_expression", "not an arithmetic expression"),
        ("__import__('os').system('id')", "invalid_expression", "plain function calls"),
        ("__import__('os')", "invalid_expression", "__import__"),
        ("(1).__class__", "invalid_expression", "Only numbers"),
        ("[1, 2]", "invalid_expression", "Only numbers"),
        ("'a' * 3", "invalid_expression", "not a number"),
        ("1 if 2 else 3", "invalid_expression", "Only numbers"),
        ("sqrt(1, 2)", "invalid_expression", "takes 1 argument"),
        ("1if 2", "invalid_expression", "runs a number into letters"),
        ("3j + 1", "invalid_expression", "runs a number into letters"),
        ("1 << 5", "invalid_expression", "not supported"),
        ("", "invalid_expression", "no expression"),
        ("1+" * 300 + "1", "too_large", "longer than"),
        ("-" * 120 + "1", "too_large", "deeply nested"),
    ],
)
async def test_bad_input_gets_a_clear_error(calc: Harness, text: str, code: str, fragment: str) -> None:
    result = await calc.ask(text, "calculate")
    assert result["error"]["code"] == code
    assert fragment in result["error"]["message"]
    assert "Examples that work" in result["response"]


def test_nesting_and_size_limits_hold_inside_the_evaluator() -> None:
    with pytest.raises(CalcError) as err:
        evaluate("+".join(["1"] * 200))
    assert err.value.code == "too_large"
    assert evaluate("2**3321") == 2**3321
    with pytest.raises(CalcError):
        evaluate("2**3321 * 2**3321")


def test_number_formatting() -> None:
    assert format_number(12.0) == "12"
    assert format_number(2.5e-20) == "2.5 × 10^-20"
    assert format_number(1.5e300) == "1.5 × 10^300"
    assert format_number(-7) == "-7"


def test_manifest_pattern_spots_bare_expressions_only() -> None:
    manifest = read_manifest(CORE / "calculator.py")
    patterns = [re.compile(rx, re.IGNORECASE) for rx in manifest.patterns["calculate"]]

    def hit(text: str) -> bool:
        return any(rx.search(text) for rx in patterns)

    for text in ["12*(3+4)", "what is 6 * 7", "2**64", "(5 + 3) / 2", "3.5 * 4.2", "sin(pi/2)", "10 - 4",
                 "15% of 80", "log(1000)", "what is 81 / 9"]:  # fmt: skip
        assert hit(text), text
    for text in ["what's new in python 3.11", "meeting on 2024-05-01", "top 10 results", "version 1.2.3",
                 "ports 80 and 443", "https://example.com/a/1", "rate my code 1-10", "what time is it"]:  # fmt: skip
        assert not hit(text), text


_TOKENS = [*"0123456789+-*/%^().,! episqrtlogx", "**", "//", "sqrt(", "factorial(", " times ", " percent of "]
_ALPHABET = st.sampled_from([*_TOKENS, "e308", "9" * 30])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=80), st.lists(_ALPHABET, max_size=40).map("".join)))
async def test_random_input_only_ever_raises_calc_error(calc: Harness, text: str) -> None:
    try:
        value = evaluate(text)
    except CalcError as exc:
        assert exc.code in {"invalid_expression", "division_by_zero", "too_large", "domain_error"}
    else:
        assert isinstance(value, int | float)
    result = await calc.ask(text or "?", "calculate")
    assert ("error" in result) != ("data" in result)
