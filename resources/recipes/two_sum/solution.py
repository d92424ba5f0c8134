def two_sum(numbers: list[int], target: int) -> tuple[int, int] | None:
    """Indices ``(i, j)``, ``i < j``, with ``numbers[i] + numbers[j] == target``, or None."""
    seen: dict[int, int] = {}
    for j, number in enumerate(numbers):
        want = target - number
        if want in seen:
            return seen[want], j
        if number not in seen:
            seen[number] = j
    return None
