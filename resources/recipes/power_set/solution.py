def power_set(items: list) -> list[list]:
    """Every subset of ``items`` (2**n lists, ``[]`` included), each in the items' original order."""
    subsets: list[list] = [[]]
    for item in items:
        new_subsets = []
        for subset in subsets:
            new_subsets.append([*subset, item])
        subsets.extend(new_subsets)
    return subsets
