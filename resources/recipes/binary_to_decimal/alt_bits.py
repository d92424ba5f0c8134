"""Shift-and-or per digit; bit_length and shifts to print."""


def from_binary(text: str) -> int:
    negative = text.startswith("-")
    body = text[1:] if negative else text
    if body[:2] in ("0b", "0B"):
        body = body[2:]
    if not body or body.strip("01"):
        raise ValueError(f"not a binary number: {text!r}")
    value = 0
    for char in body:
        value = (value << 1) | (char == "1")
    return -value if negative else value


def to_binary(n: int) -> str:
    m = abs(n)
    digits = "".join("1" if m >> i & 1 else "0" for i in range(m.bit_length() - 1, -1, -1)) or "0"
    return ("-" if n < 0 else "") + digits
