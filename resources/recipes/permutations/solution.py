def permutations(items: list) -> list[list]:
    """Every ordering of ``items`` as a list of lists (n! of them; ``[[]]`` for an empty list)."""
    if not items:
        return [[]]
    result: list[list] = []
    for i, first in enumerate(items):
        rest = list(items[:i]) + list(items[i + 1 :])
        for tail in permutations(rest):
            result.append([first, *tail])
    return result
