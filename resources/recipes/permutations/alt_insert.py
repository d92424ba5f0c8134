"""Iterative: insert each new item at every position of the permutations so far."""


def permutations(items: list) -> list[list]:
    result: list[list] = [[]]
    for item in items:
        result = [[*p[:i], item, *p[i:]] for p in result for i in range(len(p) + 1)]
    return result
