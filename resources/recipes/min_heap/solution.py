from collections.abc import Iterable
from typing import Any


class MinHeap:
    """A min-heap: ``push(item)``, ``pop()`` (smallest), ``peek()``, ``len(heap)``."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._data: list[Any] = []
        for item in items:
            self.push(item)

    def push(self, item: Any) -> None:
        """Add ``item``."""
        data = self._data
        data.append(item)
        i = len(data) - 1
        while i > 0:
            parent = (i - 1) // 2
            if data[i] < data[parent]:
                data[i], data[parent] = data[parent], data[i]
                i = parent
            else:
                break

    def pop(self) -> Any:
        """Remove and return the smallest item.

        Raises:
            IndexError: The heap is empty.
        """
        data = self._data
        if not data:
            raise IndexError("pop from an empty heap")
        smallest = data[0]
        last = data.pop()
        if data:
            data[0] = last
            i = 0
            n = len(data)
            while True:
                left, right = 2 * i + 1, 2 * i + 2
                child = i
                if left < n and data[left] < data[child]:
                    child = left
                if right < n and data[right] < data[child]:
                    child = right
                if child == i:
                    break
                data[i], data[child] = data[child], data[i]
                i = child
        return smallest

    def peek(self) -> Any:
        """The smallest item, left in place.

        Raises:
            IndexError: The heap is empty.
        """
        if not self._data:
            raise IndexError("peek at an empty heap")
        return self._data[0]

    def __len__(self) -> int:
        return len(self._data)
