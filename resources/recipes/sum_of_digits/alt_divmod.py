"""divmod by 10 per step (one division instead of two)."""


def sum_of_digits(n: int) -> int:
    n, total = abs(n), 0
    while n:
        n, digit = divmod(n, 10)
        total += digit
    return total
