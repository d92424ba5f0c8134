def knapsack_01(weights: list[int], values: list[int], capacity: int) -> int:
    """Largest total value of items (each used at most once) whose weights sum to <= ``capacity``.

    Raises:
        ValueError: The lists differ in length, a weight is negative, or ``capacity`` is negative.
    """
    if len(weights) != len(values):
        raise ValueError("weights and values must have the same length")
    if capacity < 0 or any(w < 0 for w in weights):
        raise ValueError("weights and capacity must not be negative")
    n = len(weights)
    best = [[0] * (capacity + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        weight, value = weights[i - 1], values[i - 1]
        for c in range(capacity + 1):
            best[i][c] = best[i - 1][c]  # skip item i
            if weight <= c and best[i - 1][c - weight] + value > best[i][c]:
                best[i][c] = best[i - 1][c - weight] + value  # take item i
    return best[n][capacity]
