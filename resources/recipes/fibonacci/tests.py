def test_first_values():
    assert [fibonacci(n) for n in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]


def test_larger():
    assert fibonacci(50) == 12586269025
    assert fibonacci(90) == 2880067194370816120


def test_recurrence():
    for n in range(2, 60):
        assert fibonacci(n) == fibonacci(n - 1) + fibonacci(n - 2)


def test_negative_raises():
    try:
        fibonacci(-1)
    except ValueError:
        return
    raise AssertionError("fibonacci(-1) should raise ValueError")
