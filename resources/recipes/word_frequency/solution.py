import re


def word_frequency(text: str) -> dict[str, int]:
    """How often each word occurs in ``text`` (case-insensitive)."""
    counts: dict[str, int] = {}
    for word in re.findall(r"[a-z0-9']+", text.lower()):
        word = word.strip("'")
        if word:
            if word in counts:
                counts[word] += 1
            else:
                counts[word] = 1
    return counts
