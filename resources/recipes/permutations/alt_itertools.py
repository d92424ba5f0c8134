"""itertools.permutations (C), each tuple turned into a list."""

import itertools


def permutations(items: list) -> list[list]:
    return [list(p) for p in itertools.permutations(items)]
