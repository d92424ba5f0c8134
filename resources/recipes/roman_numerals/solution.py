_VALUES = [
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
]
_SYMBOLS = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(number: int) -> str:
    """``number`` (1..3999) as a Roman numeral."""
    if not 0 < number < 4000:
        raise ValueError("Roman numerals cover 1..3999")
    out = ""
    for value, symbol in _VALUES:
        while number >= value:
            out += symbol
            number -= value
    return out


def from_roman(text: str) -> int:
    """The integer a Roman numeral stands for (case-insensitive)."""
    text = text.strip().upper()
    if not text or any(c not in _SYMBOLS for c in text):
        raise ValueError(f"not a Roman numeral: {text!r}")
    total = 0
    for i, char in enumerate(text):
        value = _SYMBOLS[char]
        if i + 1 < len(text) and _SYMBOLS[text[i + 1]] > value:
            total -= value
        else:
            total += value
    return total
