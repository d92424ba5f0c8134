"""Text that is safe to show: control characters made visible instead of acted on.

Stored text can come from anyone (an unauthenticated URL, a plugin, a hand-edited database). Printed
raw, an ANSI escape or a carriage return rewrites what a terminal shows, and a newline starts a line
that looks like a real one. Every control character (C0, DEL, C1), the Unicode line and paragraph
separators and the bidirectional overrides are shown as ``\\xNN`` / ``\\uNNNN`` escapes.
"""

from __future__ import annotations

import json
import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# json.dumps escapes C0 itself, and its indentation uses newlines: only the rest is escaped in JSON.
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control, line-separator and bidi-override character shown as an escape."""
    if not _UNSAFE.search(text):  # the common case costs one scan
        return text
    return _UNSAFE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def safe_json(value: object, *, indent: int | None = 2) -> str:
    """JSON text (readable non-ASCII kept) with no raw control or bidi character anywhere.

    ``json.dumps`` already escapes C0 controls; C1 controls (which UTF-8 terminals obey as escape
    sequences), DEL, line separators and bidi overrides pass through it raw, and are escaped here.
    They can only occur inside JSON strings, where ``\\uNNNN`` is the same character.
    """
    text = json.dumps(value, indent=indent, ensure_ascii=False, default=str)
    return _UNSAFE_IN_JSON.sub(_json_escape, text)
