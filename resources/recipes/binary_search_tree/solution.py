from collections.abc import Iterable
from typing import Any


class _Node:
    __slots__ = ("left", "right", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.left: _Node | None = None
        self.right: _Node | None = None


class BinarySearchTree:
    """A binary search tree of distinct, comparable values.

    Methods: ``insert(value)`` (True when added, False for a duplicate), ``contains(value)``
    (also ``value in tree``), ``in_order()`` (sorted list) and ``len(tree)``.
    """

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._root: _Node | None = None
        self._size = 0
        for value in values:
            self.insert(value)

    def insert(self, value: Any) -> bool:
        """Add ``value``; return False (and change nothing) when it is already present."""
        if self._root is None:
            self._root = _Node(value)
            self._size = 1
            return True
        node = self._root
        while True:
            if value == node.value:
                return False
            if value < node.value:
                if node.left is None:
                    node.left = _Node(value)
                    break
                node = node.left
            else:
                if node.right is None:
                    node.right = _Node(value)
                    break
                node = node.right
        self._size += 1
        return True

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is in the tree."""
        node = self._root
        while node is not None:
            if value == node.value:
                return True
            node = node.left if value < node.value else node.right
        return False

    def __contains__(self, value: Any) -> bool:
        return self.contains(value)

    def in_order(self) -> list[Any]:
        """The values in ascending order (left subtree, node, right subtree)."""
        result: list[Any] = []
        stack: list[_Node] = []
        node = self._root
        while stack or node is not None:
            while node is not None:
                stack.append(node)
                node = node.left
            node = stack.pop()
            result.append(node.value)
            node = node.right
        return result

    def __len__(self) -> int:
        return self._size
