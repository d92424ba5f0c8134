"""Redaction of secrets and personal data before anything is written to the audit log or settings.

Three kinds of detector, in the spirit of secret scanners such as detect-secrets:

* provider token shapes (OpenAI, Anthropic, AWS, Google, GitHub, GitLab, Slack, Stripe, Twilio,
  SendGrid, Hugging Face, npm, Telegram, DigitalOcean, JWTs, PEM private keys even without their
  END line, credentials inside URLs, our own ``fame_`` admin keys);
* keywords: ``NAME_WITH_SECRET=value`` assignments and password phrases in prose ("my password
  is hunter2xyz", "pwd hunter3abc"), judged by the value so "the password is too short" stays;
* high entropy: long mixed-case-and-digit tokens (an AWS secret access key on its own).

Plus personal data: e-mail addresses, phone numbers and Luhn-valid card numbers. Most strings
the audit sees (paths, intents, "12 * 12") carry none of the trigger characters, so a cheap
prefilter skips them and short strings are memoised: the audit redacts every field of every row.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping

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


_PATTERNS: list[tuple[re.Pattern[str], _Replacer]] = [
    # A PEM private key, with or without its END line (a paste cut short still holds the key).
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY"
                r"(?: BLOCK)?-----|(?:[\s\\n]*(?:[A-Za-z0-9+/=]{8,}|[A-Za-z-]+: ?[^\n]*))*)"), _whole("private_key")),
    # user:password@ in any URL (the host stays readable).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}://)[^\s/:@]+:[^\s/@]+(?=@)"), _group_after("url_credentials")),
    (re.compile(r"(?i)\b(Bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"), _group_after("bearer")),
    (re.compile(r"(?i)\b(Basic\s+)[A-Za-z0-9+/]{8,}={0,2}"), _group_after("basic_auth")),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), _whole("jwt")),
    (re.compile(r"\bfame_[A-Za-z0-9_-]{20,}"), _whole("admin_key")),
    (re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}"), _whole("anthropic_key")),
    (re.compile(r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)?[A-Za-z0-9_-]{16,}"), _whole("api_key")),
    (re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), _whole("stripe_key")),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"), _whole("github_token")),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), _whole("gitlab_token")),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), _whole("slack_token")),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"), _whole("aws_key")),
    (re.compile(r"\bAIza[A-Za-z0-9_-]{35}\b"), _whole("google_key")),
    (re.compile(r"\b(?:SK|AC)[0-9a-f]{32}\b"), _whole("twilio_key")),
    (re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"), _whole("sendgrid_key")),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}"), _whole("huggingface_token")),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), _whole("npm_token")),
    (re.compile(r"\bdo[pro]_v1_[a-f0-9]{64}\b"), _whole("digitalocean_token")),
    (re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"), _whole("telegram_token")),
    (re.compile(r"\bkey-[0-9a-f]{32}\b"), _whole("mailgun_key")),
    # NAME=value and NAME: value where NAME holds a secret keyword (AWS_SECRET_ACCESS_KEY=...).
    (re.compile(rf"(?i)(\b[\w.-]*?(?:{_KEYWORDS})(?:[_.-][\w.-]*)?[\"']?\s*[=:]\s*[\"']?)(?!\[REDACTED){_ANY}{{4,}}"),
     _assignment),
    # Password phrases in prose: "my password is hunter2xyz", "pwd hunter3abc", "pin: 4821".
    (re.compile(r"(?i)(?P<p>\b(?:password|passwd|passphrase|passcode|pwd|pw|pin)\b(?:(?P<c>\s+(?:is|was|=|:)|\s*[=:])"
                rf"|(?P<w>\s+(?:to|as)))?\s*[\"']?)(?P<v>(?!\[REDACTED){_ANY}{{3,}})"), _password_phrase),
    # Long random-looking tokens on their own (an AWS secret access key, a session secret). 32+
    # characters: shorter camel-case identifiers with digits reach the entropy of random text.
    (re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])"), _high_entropy),
    (re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), _whole("email")),
    (re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])"), _card),
    (re.compile(r"(?<![\w.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}"
                r"(?![\w.]|-\d)"), _phone),
    (re.compile(r"(?<![\w.])\+\d{7,15}(?![\w.])"), _phone),
]  # fmt: skip

# A string with none of these cannot match any pattern above: skip the full scan.
_TRIGGER = re.compile(
    rf"(?i)-----|://|@|\d{{4}}|[A-Za-z0-9+/_-]{{16}}|bearer|basic|{_KEYWORDS}|\bpw\b|\bpin\b"
)
_MEMO_CHARS = 256


def redact_text(text: str) -> str:
    """``text`` with secrets, emails, phone and card numbers replaced by ``[REDACTED:kind]``."""
    if not text or not _TRIGGER.search(text):
        return text
    if len(text) <= _MEMO_CHARS:
        return _redact_short(text)
    return _redact_all(text)


def _redact_all(text: str) -> str:
    for pattern, replace in _PATTERNS:
        text = pattern.sub(replace, text)
    return text


# The audit sees the same short strings again and again (actors, paths, summaries).
_redact_short = functools.lru_cache(maxsize=4096)(_redact_all)


def redact(value: object) -> object:
    """A deep copy of ``value`` with secrets redacted (dict values under secret-looking keys entirely)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            k = str(key)
            if _SECRET_KEY.match(k.strip()) and item not in (None, "", False):
                out[k] = "[REDACTED]"
            else:
                out[k] = redact(item)
        return out
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def secret_spans(text: str) -> list[str]:
    """The substrings of ``text`` that :func:`redact_text` would hide (for echo scrubbing)."""
    if not text or not _TRIGGER.search(text):
        return []
    found: list[str] = []
    for pattern, replace in _PATTERNS:
        for m in pattern.finditer(text):
            whole, kept = m.group(0), replace(m)
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
