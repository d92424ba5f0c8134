class Stack:
    """Last in, first out."""

    def __init__(self) -> None:
        self._items: list = []

    def push(self, item) -> None:
        """Put ``item`` on top."""
        self._items.append(item)

    def pop(self):
        """Remove and return the top item; IndexError when empty."""
        if not self._items:
            raise IndexError("pop from an empty stack")
        return self._items.pop()

    def peek(self):
        """The top item without removing it; IndexError when empty."""
        if not self._items:
            raise IndexError("peek at an empty stack")
        return self._items[-1]

    def is_empty(self) -> bool:
        """Whether the stack holds nothing."""
        return not self._items

    def __len__(self) -> int:
        return len(self._items)
