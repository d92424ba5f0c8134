def remove_duplicates(items: list) -> list:
    """A new list with the items of ``items`` without repeats, first occurrences in their order."""
    result: list = []
    for item in items:
        if item not in result:
            result.append(item)
    return result
