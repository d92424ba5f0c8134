"""Linear scan: correct, but O(n)."""


def binary_search(items, target):
    for index, value in enumerate(items):
        if value == target:
            return index
    return -1
