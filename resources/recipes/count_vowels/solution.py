def count_vowels(text: str) -> int:
    """How many of ``text``'s characters are vowels (a, e, i, o, u, any case)."""
    count = 0
    for char in text.lower():
        if char in "aeiou":
            count += 1
    return count
