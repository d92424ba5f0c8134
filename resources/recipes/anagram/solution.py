def is_anagram(first: str, second: str) -> bool:
    """Whether ``first`` and ``second`` contain the same letters, ignoring case and spaces."""
    def letters(text: str) -> list[str]:
        return sorted(c for c in text.lower() if not c.isspace())

    return letters(first) == letters(second)
