from collections.abc import Iterable, Iterator
from typing import Any


class _Node:
    __slots__ = ("next", "value")

    def __init__(self, value: Any, next: "_Node | None" = None) -> None:
        self.value = value
        self.next = next


class LinkedList:
    """A singly linked list: ``append``, ``prepend``, ``remove``, ``reverse``, ``to_list``, ``len``, iteration."""

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._head: _Node | None = None
        for value in values:
            self.append(value)

    def append(self, value: Any) -> None:
        """Add ``value`` at the end."""
        node = _Node(value)
        if self._head is None:
            self._head = node
            return
        current = self._head
        while current.next is not None:
            current = current.next
        current.next = node

    def prepend(self, value: Any) -> None:
        """Add ``value`` at the front."""
        self._head = _Node(value, self._head)

    def remove(self, value: Any) -> None:
        """Remove the first node holding ``value``.

        Raises:
            ValueError: No node holds ``value``.
        """
        previous: _Node | None = None
        current = self._head
        while current is not None:
            if current.value == value:
                if previous is None:
                    self._head = current.next
                else:
                    previous.next = current.next
                return
            previous, current = current, current.next
        raise ValueError(f"{value!r} is not in the linked list")

    def reverse(self) -> None:
        """Reverse the list in place by turning every next pointer around."""
        previous: _Node | None = None
        current = self._head
        while current is not None:
            current.next, previous, current = previous, current, current.next
        self._head = previous

    def __iter__(self) -> Iterator[Any]:
        current = self._head
        while current is not None:
            yield current.value
            current = current.next

    def to_list(self) -> list[Any]:
        """The values from head to tail."""
        return list(self)

    def __len__(self) -> int:
        count = 0
        for _ in self:
            count += 1
        return count
