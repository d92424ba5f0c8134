"""A nested list comprehension indexing rows by column."""


def transpose_matrix(matrix: list[list]) -> list[list]:
    if not matrix:
        return []
    width = len(matrix[0])
    if any(len(row) != width for row in matrix):
        raise ValueError("all rows must have the same length")
    return [[row[c] for row in matrix] for c in range(width)]
