"""int(text, 2) and format(n, 'b') after validating: C-level conversion."""

import re

_BINARY = re.compile(r"-?(?:0[bB])?[01]+")


def from_binary(text: str) -> int:
    if not _BINARY.fullmatch(text):
        raise ValueError(f"not a binary number: {text!r}")
    return int(text.replace("0b", "").replace("0B", ""), 2)


def to_binary(n: int) -> str:
    return format(n, "b")
