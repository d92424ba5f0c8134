"""All divisors up to n - 1: O(n), deliberately slow."""


def is_prime(n):
    return n >= 2 and all(n % d for d in range(2, n))
