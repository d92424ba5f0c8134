"""The standard library's heapq (C sift-up/sift-down) behind the same methods."""

import heapq


class MinHeap:
    def __init__(self, items=()):
        self._data = list(items)
        heapq.heapify(self._data)

    def push(self, item):
        heapq.heappush(self._data, item)

    def pop(self):
        if not self._data:
            raise IndexError("pop from an empty heap")
        return heapq.heappop(self._data)

    def peek(self):
        if not self._data:
            raise IndexError("peek at an empty heap")
        return self._data[0]

    def __len__(self):
        return len(self._data)
