"""Same interface over a sorted Python list with bisect: O(log n) search, O(n) insert shifting in C."""

import bisect


class BinarySearchTree:
    def __init__(self, values=()):
        self._items = []
        for value in values:
            self.insert(value)

    def insert(self, value):
        i = bisect.bisect_left(self._items, value)
        if i < len(self._items) and self._items[i] == value:
            return False
        self._items.insert(i, value)
        return True

    def contains(self, value):
        i = bisect.bisect_left(self._items, value)
        return i < len(self._items) and self._items[i] == value

    __contains__ = contains

    def in_order(self):
        return list(self._items)

    def __len__(self):
        return len(self._items)
