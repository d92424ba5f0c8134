"""functools.reduce over the range."""
from functools import reduce
from operator import mul


def factorial(n):
    if n < 0:
        raise ValueError("factorial is not defined for negative numbers")
    return reduce(mul, range(1, n + 1), 1)
