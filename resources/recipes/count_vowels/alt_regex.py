"""A regular expression character class, counted with findall."""

import re

_VOWEL = re.compile(r"[aeiou]", re.IGNORECASE)


def count_vowels(text: str) -> int:
    return len(_VOWEL.findall(text))
