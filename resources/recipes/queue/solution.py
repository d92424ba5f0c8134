from collections import deque


class Queue:
    """First in, first out."""

    def __init__(self) -> None:
        self._items: deque = deque()

    def enqueue(self, item) -> None:
        """Add ``item`` at the back."""
        self._items.append(item)

    def dequeue(self):
        """Remove and return the front item; IndexError when empty."""
        if not self._items:
            raise IndexError("dequeue from an empty queue")
        return self._items.popleft()

    def peek(self):
        """The front item without removing it; IndexError when empty."""
        if not self._items:
            raise IndexError("peek at an empty queue")
        return self._items[0]

    def is_empty(self) -> bool:
        """Whether the queue holds nothing."""
        return not self._items

    def __len__(self) -> int:
        return len(self._items)
