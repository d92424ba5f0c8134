"""heapq.merge, the standard library's lazy k-way merge."""
import heapq


def merge_sorted(left, right):
    return list(heapq.merge(left, right))
