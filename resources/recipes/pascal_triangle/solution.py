def pascal_triangle(n: int) -> list[list[int]]:
    """The first ``n`` rows of Pascal's triangle: ``[[1], [1, 1], [1, 2, 1], ...]``.

    Raises:
        ValueError: ``n`` is negative.
    """
    if n < 0:
        raise ValueError("the number of rows must not be negative")
    rows: list[list[int]] = []
    for i in range(n):
        if i == 0:
            rows.append([1])
            continue
        previous = rows[-1]
        row = [1]
        for j in range(1, len(previous)):
            row.append(previous[j - 1] + previous[j])
        row.append(1)
        rows.append(row)
    return rows
