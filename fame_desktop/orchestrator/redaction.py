"""Redaction of secrets and personal data before anything is written to the audit log."""

from __future__ import annotations

import re
from collections.abc import Mapping

_SECRET_KEY = re.compile(
    r"^(x[-_])?(password|passwd|pwd|secret|token|access[-_]?token|refresh[-_]?token|api[-_]?key|apikey|"
    r"admin[-_]?key|authorization|auth|cookie|session[-_]?id|private[-_]?key|client[-_]?secret)$",
    re.IGNORECASE,
)

# Order matters: specific token shapes before the generic number patterns.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("private_key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----")),
    ("bearer", re.compile(r"\bBearer\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE)),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")),
    ("admin_key", re.compile(r"\bfame_[A-Za-z0-9_-]{20,}")),
    ("api_key", re.compile(r"\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)?[A-Za-z0-9_-]{16,}")),
    ("github_token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("aws_key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("google_key", re.compile(r"\bAIza[A-Za-z0-9_-]{35}\b")),
    ("secret_assignment", re.compile(
        r"(?i)\b(password|passwd|secret|token|api[_-]?key|admin[_-]?key)\s*[=:]\s*(?!\[REDACTED)[^\s,;'\"]{4,}")),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    ("card", re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])")),
    ("phone", re.compile(
        r"(?<![\w.])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?![\w.])")),
    ("phone", re.compile(r"(?<![\w.])\+\d{7,15}(?![\w.])")),
]  # fmt: skip


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _replace(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def redact_text(text: str) -> str:
    """``text`` with secrets, emails, phone and card numbers replaced by ``[REDACTED:kind]``."""
    if not text:
        return text
    for kind, pattern in _PATTERNS:
        if kind == "card":
            text = pattern.sub(_card, text)
        elif kind == "secret_assignment":
            text = pattern.sub(lambda m: f"{m.group(1)}=[REDACTED:secret]", text)
        elif kind == "phone":
            text = pattern.sub(_phone, text)
        else:
            text = pattern.sub(_replace(kind), text)
    return text


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return _replace("card")
    return match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    # Dates (2026-11-24), times and versions are not phone numbers: need 7+ digits and a separator shape.
    if len(digits) < 7 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", match.group(0).strip()):
        return match.group(0)
    return _replace("phone")


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
