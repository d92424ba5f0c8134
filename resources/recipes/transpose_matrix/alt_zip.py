"""zip(*matrix) pairs up the columns in C."""


def transpose_matrix(matrix: list[list]) -> list[list]:
    if any(len(row) != len(matrix[0]) for row in matrix):
        raise ValueError("all rows must have the same length")
    return [list(col) for col in zip(*matrix)]
