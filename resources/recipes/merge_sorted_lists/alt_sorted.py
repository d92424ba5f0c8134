"""Concatenate and let Timsort find the two runs (O(n) on already sorted runs)."""


def merge_sorted(left, right):
    return sorted(left + right)
