"""Mutable [start, end] pairs extended in place, converted to tuples at the end."""


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if any(s > e for s, e in intervals):
        raise ValueError("an interval starts after it ends")
    out: list[list[int]] = []
    for s, e in sorted(intervals, key=lambda iv: iv[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1][1] = e
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]
