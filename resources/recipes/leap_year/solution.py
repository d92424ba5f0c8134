def is_leap_year(year: int) -> bool:
    """Whether ``year`` is a leap year in the Gregorian calendar."""
    if not isinstance(year, int) or isinstance(year, bool):
        raise TypeError("year must be an integer")
    if year % 400 == 0:
        return True
    if year % 100 == 0:
        return False
    return year % 4 == 0
