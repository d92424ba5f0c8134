def test_simple():
    assert sum_of_digits(123) == 6
    assert sum_of_digits(9875) == 29


def test_zero_and_single_digit():
    assert sum_of_digits(0) == 0
    assert sum_of_digits(7) == 7


def test_negative_uses_absolute_value():
    assert sum_of_digits(-123) == 6


def test_zeros_inside():
    assert sum_of_digits(1000001) == 2
    assert sum_of_digits(10) == 1


def test_large_number():
    assert sum_of_digits(10**50 - 1) == 450
    assert sum_of_digits(2**100) == 115
