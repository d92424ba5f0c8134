def test_ordinary_leap_years():
    assert is_leap_year(2024)
    assert is_leap_year(1996)
    assert not is_leap_year(2023)
    assert not is_leap_year(2019)


def test_centuries():
    assert is_leap_year(2000)
    assert is_leap_year(1600)
    assert not is_leap_year(1900)
    assert not is_leap_year(2100)


def test_count_in_a_400_year_cycle():
    assert sum(is_leap_year(y) for y in range(2001, 2401)) == 97


def test_rejects_non_integers():
    for bad in ("2024", 2024.0, None, True):
        try:
            is_leap_year(bad)
        except TypeError:
            pass
        else:
            raise AssertionError(f"accepted {bad!r}")
