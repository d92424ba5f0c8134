def reverse_string(text: str) -> str:
    """Return ``text`` with its characters in reverse order."""
    result = ""
    for char in text:
        result = char + result
    return result
