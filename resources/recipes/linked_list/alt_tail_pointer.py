"""Keeps a tail pointer and a size: O(1) append and len."""


class _Node:
    __slots__ = ("next", "value")

    def __init__(self, value, next=None):
        self.value = value
        self.next = next


class LinkedList:
    def __init__(self, values=()):
        self._head = self._tail = None
        self._size = 0
        for value in values:
            self.append(value)

    def append(self, value):
        node = _Node(value)
        if self._tail is None:
            self._head = self._tail = node
        else:
            self._tail.next = node
            self._tail = node
        self._size += 1

    def prepend(self, value):
        self._head = _Node(value, self._head)
        if self._tail is None:
            self._tail = self._head
        self._size += 1

    def remove(self, value):
        previous, current = None, self._head
        while current is not None:
            if current.value == value:
                if previous is None:
                    self._head = current.next
                else:
                    previous.next = current.next
                if current is self._tail:
                    self._tail = previous
                self._size -= 1
                return
            previous, current = current, current.next
        raise ValueError(f"{value!r} is not in the linked list")

    def reverse(self):
        previous, current = None, self._head
        self._tail = current
        while current is not None:
            current.next, previous, current = previous, current, current.next
        self._head = previous

    def __iter__(self):
        current = self._head
        while current is not None:
            yield current.value
            current = current.next

    def to_list(self):
        return list(self)

    def __len__(self):
        return self._size
