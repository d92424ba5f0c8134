"""The standard library's math.factorial (C, binary splitting)."""
import math


def factorial(n):
    if n < 0:
        raise ValueError("factorial is not defined for negative numbers")
    return math.factorial(n)
