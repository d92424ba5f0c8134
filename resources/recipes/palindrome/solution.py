def is_palindrome(text: str) -> bool:
    """Whether ``text`` reads the same both ways, ignoring case, spaces and punctuation."""
    cleaned = []
    for char in text:
        if char.isalnum():
            cleaned.append(char.lower())
    return cleaned == cleaned[::-1]
