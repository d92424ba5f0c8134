def factorial(n: int) -> int:
    """n! for n >= 0."""
    if n < 0:
        raise ValueError("factorial is not defined for negative numbers")
    result = 1
    for k in range(2, n + 1):
        result *= k
    return result
