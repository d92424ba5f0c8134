"""The redaction fast path gives exactly what running every pattern gives, on any text.

Most text skips the patterns: a screen (``might_hold_secret``) and a gate per detector decide,
from substrings, digit counts and token runs, that a pattern cannot match. These tests check that
decision against the full scan (every pattern, in order) on the labelled set, the issue's attacks,
the shapes the old prefilter missed and generated text built from every detector's pieces.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fame_desktop.orchestrator import redaction
from fame_desktop.orchestrator.redaction import might_hold_secret, redact, redact_text

SET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "redaction_set.jsonl"
full_scan = redaction._redact_every_pattern

# Pieces every detector looks for, and what breaks or extends them.
PIECES = [
    "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAu1SU1LfV",
    "https://", "alice:Pa55w0rd@", "Bearer ", "basic ", "Basic ", "eyJ", "abcde.", "fame_", "sk-ant-",
    "sk-", "pk-", "rk_live_", "sk_test_", "ghp_", "github_pat_", "glpat-", "xoxb-", "AKIA", "ASIA", "AIza",
    "SK", "AC", "0123456789abcdef", "SG.", "hf_", "npm_", "dop_v1_", "123456789:AA", "key-",
    "password", "PASSWORD", "paſſword", "passwd", "passphrase", "passcode", "pwd", "pw", "pin", "PİN",
    "secret", "token", "api_key", "KEY", "credentials", "AWS_SECRET_ACCESS_KEY", " is ", " was ", "=", ": ",
    " to ", " as ", "'", '"', "hunter2xyz", "[REDACTED:secret]", "@", ".", "example.com", "+44", " (020) ",
    "7946", "0958", "4111 1111 1111 1111", "12 345 678", "2026-11-24", "٣٤٥٦٧٨٩", "q8Zr1T/vfK2mWc9YpLx4Hb7s",
    "Nd0Ue3GjAo6iRy5E", "XHysgViDLMWwkgr", "\n", " ", "-", "_", "/", "+", "é", "한국어", "\x00",
]  # fmt: skip


def _labelled() -> list[str]:
    return [json.loads(line)["text"] for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def _same_as_full_scan(text: str) -> None:
    expected = full_scan(text)
    assert redact_text(text) == expected, text
    assert redaction._redact_gated(text) == expected, text
    if not might_hold_secret(text):
        assert expected == text, f"the screen passed {text!r} but the patterns change it"


@pytest.mark.parametrize("text", _labelled())
def test_labelled_set_gets_what_every_pattern_gives(text: str) -> None:
    _same_as_full_scan(text)


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("call me on 12 345 678 tonight", "345 678"),  # no four digits in a row: the old screen let it by
        ("token eyJhbGci.eyJzdWIi.c2lnbmF0", "eyJhbGci"),  # a JWT too short for a 16-character run
        ("slack xoxb-abcdefghij", "abcdefghij"),  # a Slack token too short for one
        ("my paſſword is hunter2xyz", "hunter2xyz"),  # re's IGNORECASE takes ſ for s
        ("the PİN is 48213", "48213"),  # and İ for i
    ],
)
def test_shapes_the_old_prefilter_missed_are_redacted(text: str, hidden: str) -> None:
    assert might_hold_secret(text)
    out = redact_text(text)
    assert hidden not in out and "[REDACTED:" in out
    _same_as_full_scan(text)


@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN PRIVATE KEY-----\nabcdefgh", "ftp://u:p@h", "Bearer abcdefgh", "basic abcdefgh",
        "eyJabcde.fghij.klmno", "xoxb-abcdefghij", "api_key: hunter2xyz", "client_secret=hunter2xyz",
        "token: hunter2xyz", "credentials=hunter2xyz", "pin: 4821", "pwd hunter3abc", "a@b.io",
        "call 12 345 678",
    ],
)  # fmt: skip
def test_the_smallest_text_each_detector_changes_passes_the_screen(text: str) -> None:
    # Nothing else in these texts would pass the screen: each one needs its own detector's words.
    assert might_hold_secret(text)
    assert redact_text(text) == full_scan(text) != text


@pytest.mark.parametrize(
    "token",
    [
        "q8Zr1T/vfK2mWc9/YpLx4Hb7s+Nd0Ue3G/jAo6iRy5E",  # no 16 key characters in a row, 43 token characters
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "abcd/efgh+ijkl/mnop+qrst/uvwx+yz01/2345",  # looks made up, but not random: the patterns decide
    ],
)
def test_tokens_with_slashes_and_pluses_pass_the_screen(token: str) -> None:
    # Paths are spared because their runs of [A-Za-z0-9_-] are short; a high-entropy token with
    # slashes has short runs too, but 32 characters of the wider class in a row.
    text = f"the secret part is {token} ok"
    assert might_hold_secret(text)
    _same_as_full_scan(text)


def test_clean_text_passes_the_screen_untouched() -> None:
    for text in ["generate_code", "api:bench", "query 123456", "Write a Python function to reverse a string",
                 "what is 2 ** 50", "open the settings", "ui:alice", "12 * 12",
                 "/home/alice/projects/fame/notes.md", "C:\\Users\\alice\\Documents\\report+final.docx",
                 "q_20081c7d547b44e6", "run r_abcdef1234abcdef12", "q_09adc98942514e81",
                 '{"id": "q_0123456789abcdef", "ms": 0.73}', "id-5551234567"]:  # fmt: skip
        assert not might_hold_secret(text), text
        assert redact_text(text) is text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=8))
def test_generated_text_gets_what_every_pattern_gives(parts: list[str]) -> None:
    _same_as_full_scan("".join(parts))


# A 16-character run passes the screen only beside a key shape's literal: each literal, then a run
# of key characters long enough for its pattern (or one short of it), must get the full scan's result.
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from((*redaction._KEY_SHAPE_LITERALS, "q_", "id ", "")),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=14, max_size=40
    ),
    st.sampled_from(["", " ", ".", "/x"]),
)
def test_key_shapes_and_runs_get_what_every_pattern_gives(literal: str, run: str, tail: str) -> None:
    _same_as_full_scan(f"see {literal}{run}{tail}")


# Seven digits pass the screen only as a card's thirteen or where a phone can start: digit runs
# behind every kind of character, with phone and card punctuation inside, get the full scan's result.
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["", " ", "q_", "x", "_", "-", ".", "+", "(", "a+", "a(", "\u00e9", "\x00", ": "]),
    st.text(alphabet="0123456789٣ -.()+\u00a0", min_size=7, max_size=24),
    st.sampled_from(["", " ", "a", ".", "-1", "\n"]),
)
def test_digit_runs_get_what_every_pattern_gives(before: str, digits: str, after: str) -> None:
    _same_as_full_scan(f"id {before}{digits}{after}")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_any_unicode_text_gets_what_every_pattern_gives(text: str) -> None:
    _same_as_full_scan(text)


def test_case_folding_covers_every_letter_re_matches_without_case() -> None:
    # The gates of case-blind patterns look for ASCII words in _fold(text): every character that
    # re's IGNORECASE takes for an ASCII letter must fold to that letter.
    letter = re.compile(r"(?i)[a-z]")
    for code in range(128, sys.maxunicode + 1):
        ch = chr(code)
        if letter.fullmatch(ch):
            folded = redaction._fold(ch)
            assert folded.isascii() and re.fullmatch(rf"(?i){re.escape(folded)}", ch), hex(code)


def test_redact_caps_long_strings_after_redacting_them_in_one_walk() -> None:
    key = "sk-proj-DOy11bn23UW0exGirLjS3kXP9mKPzqaLwwoOLb9mH4gEs6c4"
    out = redact(
        {"note": "x" * 50 + " " + key, "list": ("y" * 30, 3), "admin_key": "k", "n": None}, max_chars=40
    )
    assert out == {
        "note": "x" * 40 + f"…[truncated {51 + len('[REDACTED:api_key]') - 40} chars]",
        "list": ["y" * 30, 3],
        "admin_key": "[REDACTED]",
        "n": None,
    }
    assert redact({"note": "x" * 50}) == {"note": "x" * 50}


_JSON_OPTIONS: dict[str, object] = {
    "sort_keys": True,
    "ensure_ascii": False,
    "default": str,
    "separators": (",", ":"),
}
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(PIECES), st.text(max_size=12),
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.sampled_from(["text", "intent", "password", "n"]), st.text(max_size=6)), inner,
                        max_size=4),
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values, st.sampled_from(["", "query 12", "my pwd is x9y8z7"]), st.sampled_from([None, 8, 40]))
def test_the_plain_fast_path_gives_what_the_full_walk_stores(
    value: object, beside: str, cap: int | None
) -> None:
    plain = redaction.redact_plain(value, max_chars=cap, with_text=beside)
    if plain is None:
        return
    stored = json.dumps(redact(value, max_chars=cap), **_JSON_OPTIONS)  # type: ignore[arg-type]
    assert json.dumps(plain, **_JSON_OPTIONS) == stored  # type: ignore[arg-type]
    assert redact_text(beside) == beside
    if isinstance(value, dict):  # a copy: what was screened is what gets stored
        assert plain is not value
        value.clear()
        assert json.dumps(plain, **_JSON_OPTIONS) == stored  # type: ignore[arg-type]


def test_the_plain_fast_path_declines_what_needs_the_full_walk() -> None:
    assert redaction.redact_plain({"q": "what is 2+2"}, with_text="query") == {"q": "what is 2+2"}
    assert redaction.redact_plain({"b": [1, (2.5, None)], "a": True}) == {"a": True, "b": [1, [2.5, None]]}
    for value in [{"q": "my password is hunter2xyz"}, {"password": "x"}, {1: "a"}, {"n": float("nan")},
                  {"p": Path("/x")}, {"q": "x" * 50}, {"tiny": 1e-5}, {"n": [-2.5e-7]}]:  # fmt: skip
        assert redaction.redact_plain(value, max_chars=40) is None, value
    assert redaction.redact_plain({"q": "fine"}, with_text="call 020 7946 0958") is None
