"""Repeatedly fuse any two overlapping intervals until none overlap: no sorting, O(n^2) per pass."""


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if any(s > e for s, e in intervals):
        raise ValueError("an interval starts after it ends")
    pending = [tuple(iv) for iv in intervals]
    merged: list[tuple[int, int]] = []
    while pending:
        s, e = pending.pop()
        changed = True
        while changed:
            changed = False
            for k, (s2, e2) in enumerate(merged):
                if s2 <= e and s <= e2:
                    s, e = min(s, s2), max(e, e2)
                    del merged[k]
                    changed = True
                    break
        merged.append((s, e))
    return sorted(merged)
