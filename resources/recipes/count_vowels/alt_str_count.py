"""Five C-level str.count calls instead of a Python loop."""
import unicodedata


def count_vowels(text: str) -> int:
    folded = unicodedata.normalize("NFD", text).lower()
    return sum(folded.count(v) for v in "aeiou")
