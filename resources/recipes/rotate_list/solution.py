def rotate_list(items: list, k: int) -> list:
    """A copy of ``items`` rotated ``k`` places to the right (negative ``k``: to the left)."""
    result = list(items)
    if not result:
        return result
    for _ in range(k % len(result)):
        result.insert(0, result.pop())
    return result
