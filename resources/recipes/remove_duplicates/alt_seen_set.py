"""A seen-set beside the result: O(n) with an explicit loop, hashable items only."""


def remove_duplicates(items: list) -> list:
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result
