"""dict.fromkeys keeps insertion order: O(n), hashable items only."""


def remove_duplicates(items: list) -> list:
    return list(dict.fromkeys(items))
