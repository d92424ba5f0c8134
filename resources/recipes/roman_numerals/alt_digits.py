"""Per decimal digit tables (thousands, hundreds, tens, ones)."""
_TABLE = (
    ("", "M", "MM", "MMM"),
    ("", "C", "CC", "CCC", "CD", "D", "DC", "DCC", "DCCC", "CM"),
    ("", "X", "XX", "XXX", "XL", "L", "LX", "LXX", "LXXX", "XC"),
    ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"),
)
_MAP = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(number):
    if not 0 < number < 4000:
        raise ValueError("Roman numerals cover 1..3999")
    return "".join(_TABLE[i][int(d)] for i, d in enumerate(f"{number:04d}"))


def from_roman(text):
    text = text.strip().upper()
    if not text or any(c not in _MAP for c in text):
        raise ValueError(f"not a Roman numeral: {text!r}")
    values = [_MAP[c] for c in text]
    return sum(-v if i + 1 < len(values) and values[i + 1] > v else v for i, v in enumerate(values))
