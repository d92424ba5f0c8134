"""Trial division against the primes found so far: simple, slower."""


def primes_up_to(n):
    primes = []
    for candidate in range(2, n + 1):
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
    return primes
