"""divmod per symbol instead of repeated subtraction; right-to-left parse."""
_PAIRS = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)
_MAP = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(number):
    if not 0 < number < 4000:
        raise ValueError("Roman numerals cover 1..3999")
    parts = []
    for value, symbol in _PAIRS:
        count, number = divmod(number, value)
        parts.append(symbol * count)
    return "".join(parts)


def from_roman(text):
    text = text.strip().upper()
    if not text or any(c not in _MAP for c in text):
        raise ValueError(f"not a Roman numeral: {text!r}")
    total, previous = 0, 0
    for c in reversed(text):
        value = _MAP[c]
        total += -value if value < previous else value
        previous = max(previous, value)
    return total
