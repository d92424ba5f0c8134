import unicodedata


def count_vowels(text: str) -> int:
    """Number of vowels (a, e, i, o, u, any case, accents ignored) in ``text``."""
    count = 0
    for char in unicodedata.normalize("NFD", text).lower():
        if char in "aeiou":
            count += 1
    return count
