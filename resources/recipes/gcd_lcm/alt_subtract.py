"""Euclid by subtraction (the original form): slow for very different numbers."""


def gcd(a, b):
    a, b = abs(a), abs(b)
    if a == 0 or b == 0:
        return a or b
    while a != b:
        if a > b:
            a -= b
        else:
            b -= a
    return a


def lcm(a, b):
    if a == 0 or b == 0:
        return 0
    return abs(a * b) // gcd(a, b)
