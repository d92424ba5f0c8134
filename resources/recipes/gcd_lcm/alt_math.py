"""The standard library's math.gcd and math.lcm."""
import math


def gcd(a, b):
    return math.gcd(a, b)


def lcm(a, b):
    return math.lcm(a, b)
