def levenshtein_distance(a: str, b: str) -> int:
    """Fewest single-character insertions, deletions or substitutions that turn ``a`` into ``b``."""
    rows, cols = len(a) + 1, len(b) + 1
    table = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        table[i][0] = i
    for j in range(cols):
        table[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            table[i][j] = min(
                table[i - 1][j] + 1,  # delete from a
                table[i][j - 1] + 1,  # insert into a
                table[i - 1][j - 1] + cost,  # substitute (or keep)
            )
    return table[-1][-1]
