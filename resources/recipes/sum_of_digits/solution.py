def sum_of_digits(n: int) -> int:
    """Sum of the decimal digits of ``n`` (its absolute value for negatives)."""
    n = abs(n)
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total
