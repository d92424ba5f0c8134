"""Memoised recursion (functools.lru_cache)."""
from functools import lru_cache


@lru_cache(maxsize=None)
def _fib(n):
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def fibonacci(n):
    if n < 0:
        raise ValueError("n must be non-negative")
    for k in range(0, n, 200):  # warm the cache in steps so deep n does not hit the recursion limit
        _fib(k)
    return _fib(n)
