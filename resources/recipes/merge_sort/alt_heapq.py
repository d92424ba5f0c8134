"""Recursive halves merged with heapq.merge."""
import heapq


def merge_sort(items):
    if len(items) <= 1:
        return list(items)
    mid = len(items) // 2
    return list(heapq.merge(merge_sort(items[:mid]), merge_sort(items[mid:])))
