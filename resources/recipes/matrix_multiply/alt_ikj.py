"""i-k-j loop order: reuse a[i][k] across a whole row of b."""


def matmul(a, b):
    if not a or not b:
        return []
    if len(a[0]) != len(b):
        raise ValueError(f"cannot multiply {len(a)}x{len(a[0])} by {len(b)}x{len(b[0])}")
    result = []
    for row in a:
        out = [0] * len(b[0])
        for k, aik in enumerate(row):
            bk = b[k]
            for j in range(len(out)):
                out[j] += aik * bk[j]
        result.append(out)
    return result
