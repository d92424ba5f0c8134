"""Top-down recursion over (item, remaining capacity) with functools.cache."""

from functools import cache


def knapsack_01(weights: list[int], values: list[int], capacity: int) -> int:
    if len(weights) != len(values):
        raise ValueError("weights and values must have the same length")
    if capacity < 0 or any(w < 0 for w in weights):
        raise ValueError("weights and capacity must not be negative")

    @cache
    def best(i: int, room: int) -> int:
        if i == len(weights):
            return 0
        skip = best(i + 1, room)
        if weights[i] <= room:
            return max(skip, values[i] + best(i + 1, room - weights[i]))
        return skip

    return best(0, capacity)
