"""str.count per vowel (five C-level scans)."""


def count_vowels(text):
    lowered = text.lower()
    return sum(lowered.count(v) for v in "aeiou")
