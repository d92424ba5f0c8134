"""zip(*matrix, strict=True) pairs up the columns in C and rejects ragged rows itself."""


def transpose_matrix(matrix: list[list]) -> list[list]:
    return [list(col) for col in zip(*matrix, strict=True)]
