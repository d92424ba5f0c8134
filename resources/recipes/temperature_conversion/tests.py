def close(a, b):
    return abs(a - b) < 1e-9


def test_fixed_points():
    assert close(celsius_to_fahrenheit(0), 32)
    assert close(celsius_to_fahrenheit(100), 212)
    assert close(fahrenheit_to_celsius(32), 0)
    assert close(fahrenheit_to_celsius(212), 100)


def test_minus_forty_is_the_same():
    assert close(celsius_to_fahrenheit(-40), -40)
    assert close(fahrenheit_to_celsius(-40), -40)


def test_round_trip():
    for t in (-273.15, -10.5, 0.1, 37, 1000):
        assert close(fahrenheit_to_celsius(celsius_to_fahrenheit(t)), t)


def test_below_absolute_zero_is_rejected():
    for call, value in ((celsius_to_fahrenheit, -300), (fahrenheit_to_celsius, -500)):
        try:
            call(value)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{call.__name__}({value}) accepted")
