"""A list kept sorted in descending order with bisect.insort: pop takes the end, O(n) push."""

import bisect


class _Desc:
    __slots__ = ("item",)

    def __init__(self, item):
        self.item = item

    def __lt__(self, other):
        return other.item < self.item


class MinHeap:
    def __init__(self, items=()):
        self._data = []
        for item in items:
            self.push(item)

    def push(self, item):
        bisect.insort_right(self._data, _Desc(item))

    def pop(self):
        if not self._data:
            raise IndexError("pop from an empty heap")
        return self._data.pop().item

    def peek(self):
        if not self._data:
            raise IndexError("peek at an empty heap")
        return self._data[-1].item

    def __len__(self):
        return len(self._data)
