"""collections.deque.rotate, implemented in C."""

from collections import deque


def rotate_list(items: list, k: int) -> list:
    d = deque(items)
    d.rotate(k)
    return list(d)
