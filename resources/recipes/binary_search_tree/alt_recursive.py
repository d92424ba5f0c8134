"""Recursive insert, search and traversal: shorter, but deep (sorted-insert) trees hit the recursion limit."""

import sys


class BinarySearchTree:
    def __init__(self, values=()):
        self._root = None  # a node is [value, left, right]
        self._size = 0
        for value in values:
            self.insert(value)

    def insert(self, value):
        def add(node):
            if node is None:
                return [value, None, None], True
            if value == node[0]:
                return node, False
            side = 1 if value < node[0] else 2
            node[side], added = add(node[side])
            return node, added

        sys.setrecursionlimit(max(sys.getrecursionlimit(), 2 * self._size + 200))
        self._root, added = add(self._root)
        self._size += added
        return added

    def contains(self, value):
        def find(node):
            if node is None:
                return False
            if value == node[0]:
                return True
            return find(node[1] if value < node[0] else node[2])

        return find(self._root)

    __contains__ = contains

    def in_order(self):
        out = []

        def walk(node):
            if node is not None:
                walk(node[1])
                out.append(node[0])
                walk(node[2])

        walk(self._root)
        return out

    def __len__(self):
        return self._size
