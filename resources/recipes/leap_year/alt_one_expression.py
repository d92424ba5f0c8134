"""One boolean expression; the cheap test (divisible by 4) first."""


def is_leap_year(year: int) -> bool:
    if not isinstance(year, int) or isinstance(year, bool):
        raise TypeError("year must be an integer")
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
