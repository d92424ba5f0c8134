def transpose_matrix(matrix: list[list]) -> list[list]:
    """The transpose of ``matrix`` (a list of equal-length rows): rows become columns.

    Raises:
        ValueError: The rows do not all have the same length.
    """
    if not matrix:
        return []
    width = len(matrix[0])
    for row in matrix:
        if len(row) != width:
            raise ValueError("all rows must have the same length")
    result = []
    for col in range(width):
        new_row = []
        for row in matrix:
            new_row.append(row[col])
        result.append(new_row)
    return result
