"""Through the decimal string: map each character to int and sum."""


def sum_of_digits(n: int) -> int:
    return sum(map(int, str(abs(n))))
