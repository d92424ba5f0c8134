"""Each cell holds the best subsequence itself; two rows only (short, more copying)."""


def longest_common_subsequence(a: str, b: str) -> str:
    previous = [""] * (len(b) + 1)
    for ca in a:
        current = [""]
        for j, cb in enumerate(b):
            if ca == cb:
                current.append(previous[j] + ca)
            else:
                current.append(max(previous[j + 1], current[j], key=len))
        previous = current
    return previous[-1]
