"""The standard library's calendar.isleap."""

import calendar


def is_leap_year(year: int) -> bool:
    if not isinstance(year, int) or isinstance(year, bool):
        raise TypeError("year must be an integer")
    return calendar.isleap(year)
