"""Two slices glued together: O(n) whatever k is."""


def rotate_list(items: list, k: int) -> list:
    if not items:
        return []
    k %= len(items)
    return list(items[-k:]) + list(items[:-k]) if k else list(items)
