"""itertools.combinations for every size, chained: subsets come out smallest first."""

from itertools import chain, combinations


def power_set(items: list) -> list[list]:
    items = list(items)
    return [list(c) for c in chain.from_iterable(combinations(items, k) for k in range(len(items) + 1))]
