def from_binary(text: str) -> int:
    """The integer a binary string denotes: ``'101'`` -> 5, ``'-0b11'`` -> -3.

    Raises:
        ValueError: ``text`` has no digits or a character other than 0 and 1.
    """
    sign = 1
    if text.startswith("-"):
        sign, text = -1, text[1:]
    if text.startswith(("0b", "0B")):
        text = text[2:]
    if not text:
        raise ValueError("no binary digits")
    value = 0
    for char in text:
        if char not in "01":
            raise ValueError(f"not a binary digit: {char!r}")
        value = value * 2 + (1 if char == "1" else 0)
    return sign * value


def to_binary(n: int) -> str:
    """``n`` in base 2 without a prefix: 5 -> ``'101'``, 0 -> ``'0'``, -3 -> ``'-11'``."""
    if n == 0:
        return "0"
    sign = "-" if n < 0 else ""
    n = abs(n)
    digits = ""
    while n > 0:
        digits = str(n % 2) + digits
        n //= 2
    return sign + digits
