"""The query request's limits and its fields' own checks, shared by the light check
(:mod:`~fame_desktop.orchestrator.query`) and the pydantic models
(:mod:`~fame_desktop.orchestrator.query_models`), so both word a refusal the same way."""

from __future__ import annotations

import re

from fame_plugin_api import INTENTS

MAX_TEXT_CHARS = 4000
# Control characters other than tab, newline and carriage return have no business in a query.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
SOURCES = ("cli", "ui", "api", "voice", "python", "test", "evolution")
# The longest admin key a request may carry.
ADMIN_KEY_MAX_CHARS = 256
#: The longest ``user`` and ``id``.
NAME_MAX_CHARS = 64
#: What an ``id`` may hold (the models' ``pattern``).
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
#: A whole id of those characters: pydantic (Rust's regex) matches such a string too; anything
# else (a trailing newline, which re's ``$`` lets through) goes to pydantic.
ID_CHARS = re.compile(r"[A-Za-z0-9_.:-]+")
#: pydantic refuses a string holding a lone surrogate (it cannot be UTF-8): pydantic says so.
SURROGATE = re.compile("[\ud800-\udfff]")

# --- the fields' own checks (the models' validators call these) --------------------------------


def check_text(value: str) -> str:
    """The query text's own check (after its type and length).

    Raises:
        ValueError: It holds control characters or only white space.
    """
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    if not value.strip():
        raise ValueError("is empty")
    return value


def check_intent(value: str | None) -> str | None:
    """An asked intent must be a known one.

    Raises:
        ValueError: It is not.
    """
    if value is not None and value not in INTENTS:
        raise ValueError(f"unknown intent; use one of {', '.join(sorted(INTENTS))}")
    return value


def check_source(value: str) -> str:
    """The front end a request came from must be a known one.

    Raises:
        ValueError: It is not.
    """
    if value not in SOURCES:
        raise ValueError(f"must be one of {', '.join(SOURCES)}")
    return value
