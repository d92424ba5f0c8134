"""zip(*strings, strict=False) yields one column of characters per position; stop at the first mixed column."""


def longest_common_prefix(strings: list[str]) -> str:
    if not strings:
        return ""
    for i, column in enumerate(zip(*strings, strict=False)):
        if len(set(column)) > 1:
            return strings[0][:i]
    return min(strings, key=len)
