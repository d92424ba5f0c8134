"""Every entry straight from math.comb(i, j): no dependence on the previous row."""

from math import comb


def pascal_triangle(n: int) -> list[list[int]]:
    if n < 0:
        raise ValueError("the number of rows must not be negative")
    return [[comb(i, j) for j in range(i + 1)] for i in range(n)]
