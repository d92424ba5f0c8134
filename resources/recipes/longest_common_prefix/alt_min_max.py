"""Only the lexicographically smallest and largest strings matter: compare those two."""


def longest_common_prefix(strings: list[str]) -> str:
    if not strings:
        return ""
    lo, hi = min(strings), max(strings)
    for i, char in enumerate(lo):
        if char != hi[i]:
            return lo[:i]
    return lo
