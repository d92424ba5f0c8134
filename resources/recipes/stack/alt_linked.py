"""A singly linked list of (item, next) tuples."""


class Stack:
    def __init__(self):
        self._top = None
        self._size = 0

    def push(self, item):
        self._top = (item, self._top)
        self._size += 1

    def pop(self):
        if self._top is None:
            raise IndexError("pop from an empty stack")
        item, self._top = self._top
        self._size -= 1
        return item

    def peek(self):
        if self._top is None:
            raise IndexError("peek at an empty stack")
        return self._top[0]

    def is_empty(self):
        return self._top is None

    def __len__(self):
        return self._size
