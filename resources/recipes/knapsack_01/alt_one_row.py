"""One row updated from high capacity to low, so each item counts once: O(capacity) memory."""


def knapsack_01(weights: list[int], values: list[int], capacity: int) -> int:
    if len(weights) != len(values):
        raise ValueError("weights and values must have the same length")
    if capacity < 0 or any(w < 0 for w in weights):
        raise ValueError("weights and capacity must not be negative")
    best = [0] * (capacity + 1)
    for weight, value in zip(weights, values, strict=True):
        for c in range(capacity, weight - 1, -1):
            candidate = best[c - weight] + value
            if candidate > best[c]:
                best[c] = candidate
    return best[capacity]
