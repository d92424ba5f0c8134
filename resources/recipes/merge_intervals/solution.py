def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or touching ``(start, end)`` intervals; result sorted by start.

    Raises:
        ValueError: An interval's start is greater than its end.
    """
    for start, end in intervals:
        if start > end:
            raise ValueError(f"interval ({start}, {end}) starts after it ends")
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged
