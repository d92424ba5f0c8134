"""Count from 0 to 2**n - 1: bit i of the counter says whether item i is in the subset."""


def power_set(items: list) -> list[list]:
    items = list(items)
    n = len(items)
    return [[items[i] for i in range(n) if mask >> i & 1] for mask in range(1 << n)]
