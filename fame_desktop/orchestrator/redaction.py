"""Redaction of secrets and personal data before anything is written to the audit log or settings.

Three kinds of detector, in the spirit of secret scanners such as detect-secrets:

* provider token shapes (OpenAI, Anthropic, AWS, Google, GitHub, GitLab, Slack, Stripe, Twilio,
  SendGrid, Hugging Face, npm, Telegram, DigitalOcean, JWTs, PEM private keys even without their
  END line, credentials inside URLs, our own ``fame_`` admin keys);
* keywords: ``NAME_WITH_SECRET=value`` assignments and password phrases in prose ("my password
  is hunter2xyz", "pwd hunter3abc"), judged by the value so "the password is too short" stays;
* high entropy: long mixed-case-and-digit tokens (an AWS secret access key on its own).

Plus personal data: e-mail addresses, phone numbers and Luhn-valid card numbers.

The audit redacts every field of every row, so speed matters. Most strings it sees (queries,
paths, intents, "12 * 12") can match no pattern, and a screen of substring checks, a digit count
and a token-run test tells so in a microsecond or two (:func:`might_hold_secret`). Text that passes
it runs only the detectors whose own gate (a necessary condition, such as ``"ghp_"`` occurring)
holds, so the result is always exactly what running every pattern in order gives (the tests check
that on generated text). Short strings are memoised.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

_SECRET_KEY = re.compile(
    r"^(x[-_])?(password|passwd|pwd|secret|token|access[-_]?token|refresh[-_]?token|api[-_]?key|apikey|"
    r"admin[-_]?key|authorization|auth|cookie|session[-_]?id|private[-_]?key|client[-_]?secret|"
    r"aws[-_]?secret[-_]?access[-_]?key|secret[-_]?access[-_]?key)$",
    re.IGNORECASE,
)

_KEYWORDS = (
    r"password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"admin[_-]?key|client[_-]?secret|credentials?"
)

# Words that follow "password is" in prose without being a password.
_NOT_A_PASSWORD = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "was",
        "be",
        "been",
        "being",
        "not",
        "no",
        "none",
        "too",
        "very",
        "so",
        "still",
        "also",
        "now",
        "just",
        "only",
        "my",
        "your",
        "our",
        "their",
        "its",
        "his",
        "her",
        "this",
        "that",
        "these",
        "those",
        "it",
        "required",
        "needed",
        "necessary",
        "incorrect",
        "correct",
        "wrong",
        "right",
        "invalid",
        "valid",
        "weak",
        "strong",
        "short",
        "long",
        "empty",
        "blank",
        "missing",
        "expired",
        "changed",
        "reset",
        "set",
        "stored",
        "saved",
        "hidden",
        "secret",
        "secure",
        "insecure",
        "safe",
        "unsafe",
        "same",
        "different",
        "new",
        "old",
        "easy",
        "hard",
        "simple",
        "complex",
        "mandatory",
        "optional",
        "case",
        "sensitive",
        "protected",
        "encrypted",
        "hashed",
        "shown",
        "visible",
        "okay",
        "ok",
        "fine",
        "good",
        "bad",
        "forgotten",
        "lost",
        "known",
        "unknown",
        "there",
        "here",
        "what",
        "which",
        "who",
        "how",
        "where",
        "when",
        "why",
        "and",
        "or",
        "but",
        "if",
        "then",
        "manager",
        "managers",
        "policy",
        "policies",
        "field",
        "fields",
        "reset",
        "recovery",
        "change",
        "changes",
        "strength",
        "length",
        "hint",
        "hints",
        "rules",
        "rule",
        "requirements",
        "requirement",
        "generator",
        "generators",
        "protected-by",
        "for",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "about",
        "into",
        "as",
        "please",
    ]
)

_ANY = r"[^\s\"',;<>()\[\]{}]"

# (kind, pattern, how to replace). Order matters: specific shapes before generic ones.
_Replacer = Callable[[re.Match[str]], str]


def _tag(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _whole(kind: str) -> _Replacer:
    return lambda _m: _tag(kind)


def _group_after(kind: str) -> _Replacer:
    """Keep group 1 (the name or the phrase), redact the value."""
    return lambda m: f"{m.group(1)}{_tag(kind)}"


def _shannon(token: str) -> float:
    counts = Counter(token)
    n = len(token)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _high_entropy(m: re.Match[str]) -> str:
    token = m.group(0)
    stripped = token.strip("=")
    kinds = sum(1 for test in (str.isupper, str.islower, str.isdigit) if any(test(c) for c in stripped))
    has_symbol = any(c in "+/" for c in stripped)
    if re.fullmatch(r"[0-9a-fA-F-]+", stripped):
        return token  # hex digests, UUIDs, commit ids: identifiers, not credentials
    if kinds < 3 and not (kinds == 2 and has_symbol):
        return token
    # Random tokens of length n reach close to log2(n) bits per character; identifiers and
    # words in camel case repeat letters and stay well below.
    if _shannon(stripped) < min(4.4, math.log2(len(stripped)) - 0.75):
        return token
    return _tag("high_entropy")


def _password_phrase(m: re.Match[str]) -> str:
    value = m.group("v")
    bare = value.strip(".!?:").lower()
    has_digit = any(c.isdigit() for c in value)
    has_letter = any(c.isalpha() for c in value)
    has_symbol = any(not c.isalnum() for c in value.strip(".!?"))
    looks_made_up = (has_digit or has_symbol) and (has_letter or len(value) >= 4)
    # "password is X" / "pwd: X" introduce a password; "password to X" only when X looks made up.
    connected = m.group("c") is not None
    if bare in _NOT_A_PASSWORD or bare.startswith(("[redacted", "http")):
        return m.group(0)
    if looks_made_up or (connected and len(bare) >= 4):
        trail = value[len(value.rstrip(".!?")) :]
        return f"{m.group('p')}{_tag('password')}{trail}"
    return m.group(0)


def _assignment(m: re.Match[str]) -> str:
    value = m.group(0)[len(m.group(1)) :]
    if value.lower() in _NOT_A_PASSWORD:
        return m.group(0)
    return f"{m.group(1)}{_tag('secret')}"


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return _tag("card")
    return match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    # Dates (2026-11-24), times and versions are not phone numbers: need 7+ digits and a separator shape.
    if len(digits) < 7 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", match.group(0).strip()):
        return match.group(0)
    return _tag("phone")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# A gate: given a text and its case-folded form (see _fold), whether a detector could change it.
_Gate = Callable[[str, str], bool]


def _has(*literals: str) -> _Gate:
    """One of ``literals`` occurs in the text (case sensitive, as the pattern matches it)."""
    if len(literals) == 1:
        lit = literals[0]
        return lambda text, _folded: lit in text
    return lambda text, _folded: any(lit in text for lit in literals)


def _has_folded(*words: str) -> _Gate:
    """One of ``words`` (lower case) occurs in the case-folded text (for case-blind patterns)."""
    return lambda _text, folded: any(word in folded for word in words)


def _both(first: _Gate, second: _Gate) -> _Gate:
    return lambda text, folded: first(text, folded) and second(text, folded)


# Seven digits with only a phone's or a card's separators between them: a phone number needs seven
# (see _phone), a card thirteen, "+4420..." seven; Unicode digits count as re's ``\d`` counts them.
_SEVEN_DIGITS = re.compile(r"\d(?:[\s.()+-]*\d){6}")
# The same test on ASCII text without re: separators deleted, digits made "d", the rest "x".
_SEPARATOR_BYTES = bytes(b for b in range(128) if re.fullmatch(r"[\s.()+-]", chr(b)))
_DIGIT_MAP = bytes(ord("d") if b < 128 and re.fullmatch(r"\d", chr(b)) else ord("x") for b in range(256))
_DIGITS_7 = b"d" * 7
# Where seven digits can be a card or a phone. Every card match holds thirteen digits with at most
# one space or hyphen between two; every phone match starts ('+', '(' or a digit) after no word
# character, dot or hyphen, and holds seven digits with at most two of its separators between two
# ("+44 (20) 7946 0958": " (" and ") "). Digits glued to a word (q_0123456789abcdef) are neither.
_PHONE_OR_CARD = re.compile(r"\d(?:[ -]?\d){12}|(?<![\w.-])[+(]?\d(?:[\s.()+-]{0,2}\d){6}")


def _seven_digits(text: str, _folded: str = "") -> bool:
    """Whether ``text`` holds seven digits separated by nothing but phone and card punctuation."""
    if text.isascii():
        return _DIGITS_7 in text.encode("ascii").translate(_DIGIT_MAP, _SEPARATOR_BYTES)
    return _SEVEN_DIGITS.search(text) is not None


# Token characters (the high-entropy detector's class) become "x", everything else a space (bytes of
# UTF-8 sequences too: the class is ASCII), so a run of N is a search for N x's. Every key shape holds
# 16 characters of the narrower class ``[A-Za-z0-9_-]`` in a row (_KEY_MAP).
_TOKEN_CLASS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_TOKEN_MAP = bytes(ord("x") if b in _TOKEN_CLASS else ord(" ") for b in range(256))
_KEY_MAP = bytes(ord("x") if b in _TOKEN_CLASS and b not in b"+/" else ord(" ") for b in range(256))
_RUN_16, _RUN_32 = b"x" * 16, b"x" * 32


def _token_run(text: str, run: bytes) -> bool:
    """Whether ``text`` holds ``len(run)`` characters of ``[A-Za-z0-9+/_-]`` in a row."""
    if len(text) < len(run):
        return False
    return run in text.encode("utf-8", "surrogatepass").translate(_TOKEN_MAP)


# The literal every key shape starts with (each detector's gate below: "sk-ant-" holds "k-"), case
# sensitive as the patterns are. A text with a 16-character run but none of these (a query id,
# "q_20081c7d547b44e6"; a hex digest shorter than 32) is not a key shape, and skips the patterns.
_KEY_SHAPE_LITERALS = (
    "fame_", "k-", "_live_", "_test_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIza", "SG.", "hf_", "npm_",
)  # fmt: skip


class _Lazy:
    """A detector's pattern, compiled on first use.

    Most text never reaches a detector (the screen below tells), and compiling the thirty patterns
    was about a tenth of a one-shot ``fame ask``'s imports; a calculator query runs none of them.
    Two threads may both compile it once: the same pattern either way.
    """

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source)
        return compiled

    def sub(self, repl: _Replacer, text: str) -> str:
        """``re.Pattern.sub``."""
        return self.compiled.sub(repl, text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """``re.Pattern.finditer``."""
        return self.compiled.finditer(text)


@dataclass(frozen=True)
class _Detector:
    """One pattern, how to replace what it finds, and a gate: what any text it changes contains.

    The gate is a necessary condition, far cheaper than the pattern (``in`` checks on the text or
    its case-folded form, a byte count): a detector whose gate fails cannot change the text, so
    skipping it gives exactly the full scan's result (tests/brain/test_redaction_screen.py).
    """

    pattern: _Lazy
    replace: _Replacer
    gate: _Gate


_D = _Detector
_DETECTORS: tuple[_Detector, ...] = (
    # A PEM private key, with or without its END line (a paste cut short still holds the key).
    _D(_Lazy(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY"
                  r"(?: BLOCK)?-----|(?:[\s\\n]*(?:[A-Za-z0-9+/=]{8,}|[A-Za-z-]+: ?[^\n]*))*)"), _whole("private_key"),
       _has("-----BEGIN ")),
    # user:password@ in any URL (the host stays readable).
    _D(_Lazy(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://)[^\s/:@]+:[^\s/@]+(?=@)"), _group_after("url_credentials"),
       _has("://")),
    _D(_Lazy(r"(?i)\b(Bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"), _group_after("bearer"), _has_folded("bearer")),
    _D(_Lazy(r"(?i)\b(Basic\s+)[A-Za-z0-9+/]{8,}={0,2}"), _group_after("basic_auth"), _has_folded("basic")),
    _D(_Lazy(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), _whole("jwt"), _has("eyJ")),
    _D(_Lazy(r"\bfame_[A-Za-z0-9_-]{20,}"), _whole("admin_key"), _has("fame_")),
    _D(_Lazy(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), _whole("anthropic_key"), _has("sk-ant-")),
    _D(_Lazy(r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)?[A-Za-z0-9_-]{16,}"), _whole("api_key"), _has("k-")),
    _D(_Lazy(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), _whole("stripe_key"),
       _has("_live_", "_test_")),
    _D(_Lazy(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"), _whole("github_token"),
       _has("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _D(_Lazy(r"\bglpat-[A-Za-z0-9_-]{20,}"), _whole("gitlab_token"), _has("glpat-")),
    _D(_Lazy(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), _whole("slack_token"), _has("xox")),
    _D(_Lazy(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"), _whole("aws_key"),
       _has("AKIA", "ASIA", "AGPA", "AIDA", "AROA")),
    _D(_Lazy(r"\bAIza[A-Za-z0-9_-]{35}\b"), _whole("google_key"), _has("AIza")),
    _D(_Lazy(r"\b(?:SK|AC)[0-9a-f]{32}\b"), _whole("twilio_key"), _has("SK", "AC")),
    _D(_Lazy(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"), _whole("sendgrid_key"), _has("SG.")),
    _D(_Lazy(r"\bhf_[A-Za-z0-9]{30,}"), _whole("huggingface_token"), _has("hf_")),
    _D(_Lazy(r"\bnpm_[A-Za-z0-9]{36}\b"), _whole("npm_token"), _has("npm_")),
    _D(_Lazy(r"\bdo[pro]_v1_[a-f0-9]{64}\b"), _whole("digitalocean_token"), _has("_v1_")),
    _D(_Lazy(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"), _whole("telegram_token"), _has(":AA")),
    _D(_Lazy(r"\bkey-[0-9a-f]{32}\b"), _whole("mailgun_key"), _has("key-")),
    # NAME=value and NAME: value where NAME holds a secret keyword (AWS_SECRET_ACCESS_KEY=...).
    _D(_Lazy(rf"(?i)(\b[\w.-]*?(?:{_KEYWORDS})(?:[_.-][\w.-]*)?[\"']?\s*[=:]\s*[\"']?)(?!\[REDACTED){_ANY}{{4,}}"),
       _assignment,
       _both(_has_folded("pass", "pwd", "secret", "token", "key", "credential"), _has("=", ":"))),
    # Password phrases in prose: "my password is hunter2xyz", "pwd hunter3abc", "pin: 4821".
    _D(_Lazy(r"(?i)(?P<p>\b(?:password|passwd|passphrase|passcode|pwd|pw|pin)\b(?:(?P<c>\s+(?:is|was|=|:)|\s*[=:])"
                  rf"|(?P<w>\s+(?:to|as)))?\s*[\"']?)(?P<v>(?!\[REDACTED){_ANY}{{3,}})"), _password_phrase,
       _has_folded("pass", "pw", "pin")),
    # Long random-looking tokens on their own (an AWS secret access key, a session secret). 32+
    # characters: shorter camel-case identifiers with digits reach the entropy of random text.
    _D(_Lazy(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])"), _high_entropy,
       lambda text, _folded: _token_run(text, _RUN_32)),
    _D(_Lazy(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), _whole("email"),
       _both(_has("@"), _has("."))),
    _D(_Lazy(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])"), _card, _seven_digits),
    _D(_Lazy(r"(?<![\w.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}"
                  r"(?![\w.]|-\d)"), _phone, _seven_digits),
    _D(_Lazy(r"(?<![\w.])\+\d{7,15}(?![\w.])"), _phone, _seven_digits),
)  # fmt: skip

# Non-ASCII characters that re's IGNORECASE takes for ASCII letters and str.lower() does not turn
# into them (dotted and dotless i, long s; the Kelvin sign lowers to k): folded to them, so
# "paſſword" is screened as "password", as the pattern matches it.
_CASE_TWINS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})

# The screen: a text (case-folded) none of these can be found in cannot change under any detector.
# Every detector's gate is here, or every match of its pattern holds 16 characters of [A-Za-z0-9_-] in a
# row and one of _KEY_SHAPE_LITERALS (the key shapes: "fame_" and 20 more, "AKIA" and 16 more...), 32
# token characters in a row (a high-entropy token) or seven digits (phones, cards). A path ("/home/alice/projects/notes.md") has
# neither run. tests/brain/test_redaction_screen.py checks the screen against the full scan.
_SCREEN_WORDS = ("-----begin ", "@", "eyj", "xox", "pass", "pw", "pin", "bearer", "basic")
# Only looked for when the text holds "=" or ":" (without one neither an assignment nor a URL's
# credentials can match): most text is spared five of the scans.
_SCREEN_ASSIGNED = ("://", "key", "secret", "token", "credential")
_MEMO_CHARS = 256


def _fold(text: str) -> str:
    """``text`` lower-cased as the detectors' case-blind matching sees it (for the gates only)."""
    if text.isascii():
        return text.lower()
    return text.translate(_CASE_TWINS).lower()


def might_hold_secret(text: str) -> bool:
    """False when no detector can change ``text`` (most text: a microsecond or two to tell)."""
    # Case-sensitive literals are looked for case-blind too: a looser screen, never a tighter one.
    # (_fold and _seven_digits inlined: this runs on every string the audit stores.)
    ascii_text = text.isascii()
    folded = text.lower() if ascii_text else text.translate(_CASE_TWINS).lower()
    for word in _SCREEN_WORDS:
        if word in folded:
            return True
    if "=" in text or ":" in text:
        for word in _SCREEN_ASSIGNED:
            if word in folded:
                return True
    raw = text.encode("ascii") if ascii_text else text.encode("utf-8", "surrogatepass")
    tokens = raw.translate(_TOKEN_MAP)
    if _RUN_16 in tokens:
        if _RUN_32 in tokens:
            return True
        if _RUN_16 in raw.translate(_KEY_MAP):
            for literal in _KEY_SHAPE_LITERALS:
                if literal in text:
                    return True
    if ascii_text:
        if _DIGITS_7 not in raw.translate(_DIGIT_MAP, _SEPARATOR_BYTES):
            return False
    elif _SEVEN_DIGITS.search(text) is None:
        return False
    # Seven digits: ids hold such runs too (q_09adc98942514e81, a fifth of query ids), so only a
    # card's thirteen or a phone's seven starting clear of a word pass (see _PHONE_OR_CARD).
    return _PHONE_OR_CARD.search(text) is not None


def redact_text(text: str) -> str:
    """``text`` with secrets, emails, phone and card numbers replaced by ``[REDACTED:kind]``."""
    if not text or not might_hold_secret(text):
        return text
    if len(text) <= _MEMO_CHARS:
        return _redact_short(text)
    return _redact_gated(text)


def _redact_gated(text: str) -> str:
    """Every detector in order on the text as the previous ones left it, skipping those gated out."""
    folded = _fold(text)
    for detector in _DETECTORS:
        if detector.gate(text, folded):
            out = detector.pattern.sub(detector.replace, text)
            if out != text:
                text, folded = out, _fold(out)
    return text


def _redact_every_pattern(text: str) -> str:
    """The full scan without gates: what :func:`redact_text` must equal (kept for the tests)."""
    for detector in _DETECTORS:
        text = detector.pattern.sub(detector.replace, text)
    return text


# The audit sees the same short strings again and again (actors, paths, summaries).
_redact_short = functools.lru_cache(maxsize=4096)(_redact_gated)


@functools.lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    # Payload keys repeat on every entry ("text", "intent", "admin_key"): judge each one once.
    return _SECRET_KEY.match(key.strip()) is not None


def redact(value: object, *, max_chars: int | None = None) -> object:
    """A deep copy of ``value`` with secrets redacted (dict values under secret-looking keys entirely).

    Args:
        value: Strings, mappings, lists and tuples are walked (tuples become lists); anything else
            is returned as it is.
        max_chars: Strings longer than this after redaction are cut and marked
            (``…[truncated N chars]``), in the same walk: the audit caps what it stores.
    """
    # Exact types first: isinstance against the Mapping ABC costs more than the rest of the walk.
    kind = type(value)
    if kind is str or (kind is not dict and isinstance(value, str)):
        return _redact_capped(value, max_chars)  # type: ignore[arg-type]
    if kind is dict or isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            k = key if type(key) is str else str(key)
            if _is_secret_key(k) and item not in (None, "", False):
                out[k] = "[REDACTED]"
            elif type(item) is str:
                out[k] = _redact_capped(item, max_chars)
            else:
                out[k] = redact(item, max_chars=max_chars)
        return out
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return [redact(v, max_chars=max_chars) for v in value]  # type: ignore[attr-defined]
    return value


def _redact_capped(text: str, max_chars: int | None) -> str:
    text = redact_text(text)
    if max_chars is not None and len(text) > max_chars:
        return text[:max_chars] + f"…[truncated {len(text) - max_chars} chars]"
    return text


class _NotPlain(Exception):
    """Raised inside :func:`_plain_copy`: the value needs the full walk."""


def redact_plain(value: object, *, max_chars: int | None = None, with_text: str = "") -> object | None:
    """The fast path of :func:`redact` for JSON-plain values that need nothing redacted or cut.

    Returns a copy of ``value`` (every dict and list copied, tuples made lists, keys in their
    order): what :func:`redact` gives, as JSON writes it. Returns None when the value is not plain
    (a type other than dict, list, tuple, str, int, bool, float or None; a float that is not finite
    or is below 1e-4 without being 0, which encoders disagree on writing; a key that is not a
    string or looks secret; a string longer than ``max_chars``) or when any string in it, or
    ``with_text`` (stored beside it), might hold a secret: then use :func:`redact` and
    :func:`redact_text`. One screen covers every string.
    """
    strings = [with_text] if with_text else []
    try:
        copy = _plain_copy(value, strings, max_chars)
    except _NotPlain:
        return None
    # Each string is a substring of the joined text, and the screen only asks what a text
    # contains: a joined text that passes means every string passes. NUL joins them because it
    # is in no screen word, no token run and no digit run: "\n" is a phone's separator, and a
    # key's fingerprint ending in digits beside "127.0.0.1" made seven digits in a row.
    if strings and might_hold_secret("\0".join(strings)):
        return None
    return copy


def json_plain(value: object) -> bool:
    """Whether ``value`` is JSON-plain as :func:`redact_plain` means it (types, keys and floats
    only: its strings are not screened), e.g. what :func:`redact` gave."""
    try:
        _plain_copy(value, [], None)
    except _NotPlain:
        return False
    return True


def _plain_copy(value: object, strings: list[str], max_chars: int | None) -> object:
    # The copy is what gets screened and stored: a caller changing its dict meanwhile changes neither.
    kind = type(value)
    if kind is dict:
        out = value.copy()  # type: ignore[attr-defined]
        for key, item in out.items():
            if type(key) is not str or _is_secret_key(key):
                raise _NotPlain
            # The common values inline: a call per value would cost more than the rest.
            item_kind = type(item)
            if item_kind is str:
                if max_chars is not None and len(item) > max_chars:
                    raise _NotPlain
                strings.append(item)
            elif item is not None and item_kind is not int and item_kind is not bool:
                out[key] = _plain_copy(item, strings, max_chars)  # same keys: iteration goes on
        return out
    if kind is str:
        if max_chars is not None and len(value) > max_chars:  # type: ignore[arg-type]
            raise _NotPlain
        strings.append(value)  # type: ignore[arg-type]
        return value
    if kind is list or kind is tuple:
        return [_plain_copy(item, strings, max_chars) for item in value]  # type: ignore[attr-defined]
    if value is None or kind is int or kind is bool:
        return value
    if kind is float and math.isfinite(value) and (value == 0 or abs(value) >= 1e-4):  # type: ignore[arg-type]
        return value
    raise _NotPlain


def secret_spans(text: str) -> list[str]:
    """The substrings of ``text`` that :func:`redact_text` would hide (for echo scrubbing)."""
    if not text or not might_hold_secret(text):
        return []
    found: list[str] = []
    folded = _fold(text)
    for detector in _DETECTORS:
        if not detector.gate(text, folded):
            continue
        for m in detector.pattern.finditer(text):
            whole, kept = m.group(0), detector.replace(m)
            if kept == whole:
                continue
            # Only the hidden part: a phrase's "password is" or a URL's scheme stays.
            head = len(_common_prefix(whole, kept))
            tail = len(_common_prefix(whole[head:][::-1], kept[head:][::-1]))
            found.append(whole[head : len(whole) - tail])
    return [s for s in found if s]


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


_RUN = re.compile(r"[A-Za-z0-9+/=_.:@-]{8,}")


def scrub_echo(source: str, answer: str) -> str:
    """``answer`` without any part of a secret that ``source`` (the query) carried.

    A plugin that quotes the question back ("I'm not sure what you mean by ...") must not show
    a key body, even cut to a prefix; the rest of the answer is left alone, so numbers in a
    calculator's answer are never taken for card numbers.
    """
    spans = secret_spans(source)
    if not spans or not answer:
        return answer
    # Case-blind: a plugin may lower-case what it quotes (the calculator does).
    lowered = [span.lower() for span in spans]
    for span in sorted(spans, key=len, reverse=True):
        answer = re.sub(re.escape(span), _tag("secret"), answer, flags=re.IGNORECASE)
    answer = _RUN.sub(
        lambda m: _tag("secret") if any(m.group(0).lower() in s for s in lowered) else m.group(0), answer
    )
    # Numbers (phones, cards) come back re-punctuated: "(020) 7946 0958" as "(020)*7946 0958".
    numbers = [d for d in ("".join(c for c in span if c.isdigit()) for span in spans) if len(d) >= 6]
    if numbers:
        answer = _DIGITS.sub(
            lambda m: _tag("secret") if _digits_in(m.group(0), numbers) else m.group(0), answer
        )
    return answer


_DIGITS = re.compile(r"[\d(+][\d()\s.*+/-]{4,}\d")


def _digits_in(text: str, numbers: list[str]) -> bool:
    digits = "".join(c for c in text if c.isdigit())
    return len(digits) >= 6 and any(digits in n for n in numbers)
