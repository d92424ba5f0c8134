def longest_common_prefix(strings: list[str]) -> str:
    """The longest string that every string in ``strings`` starts with ('' for an empty list)."""
    if not strings:
        return ""
    first = strings[0]
    for i, char in enumerate(first):
        for other in strings[1:]:
            if i >= len(other) or other[i] != char:
                return first[:i]
    return first
