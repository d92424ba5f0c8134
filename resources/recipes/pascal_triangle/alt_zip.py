"""Each row is the previous one added to itself shifted by one place (zip with 0 padding)."""


def pascal_triangle(n: int) -> list[list[int]]:
    if n < 0:
        raise ValueError("the number of rows must not be negative")
    rows = []
    row = [1]
    for _ in range(n):
        rows.append(row)
        row = [a + b for a, b in zip([0, *row], [*row, 0], strict=True)]
    return rows
