"""Transpose b once with zip, then sum of products per row/column pair."""


def matmul(a, b):
    if not a or not b:
        return []
    if len(a[0]) != len(b):
        raise ValueError(f"cannot multiply {len(a)}x{len(a[0])} by {len(b)}x{len(b[0])}")
    columns = list(zip(*b))
    return [[sum(x * y for x, y in zip(row, col)) for col in columns] for row in a]
