"""Printing helpers shared by the subcommands."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def fail(message: str, fix: str = "", code: int = 2) -> int:
    """Print an error with its fix on stderr; return the exit code."""
    print(f"fame: {message}" + (f"\n  fix: {fix}" if fix else ""), file=sys.stderr)
    return code
