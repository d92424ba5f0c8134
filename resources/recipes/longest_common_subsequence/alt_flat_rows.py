"""Length table as rows of ints built with local variables; same walk back."""


def longest_common_subsequence(a: str, b: str) -> str:
    table = [[0] * (len(b) + 1)]
    for ca in a:
        prev = table[-1]
        row = [0]
        left = 0
        for j, cb in enumerate(b):
            left = prev[j] + 1 if ca == cb else (prev[j + 1] if prev[j + 1] > left else left)
            row.append(left)
        table.append(row)
    out = []
    i, j = len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] >= table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return "".join(reversed(out))
