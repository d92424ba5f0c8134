def test_small():
    assert [factorial(n) for n in range(7)] == [1, 1, 2, 6, 24, 120, 720]


def test_large():
    assert factorial(20) == 2432902008176640000
    assert len(str(factorial(100))) == 158


def test_negative_raises():
    try:
        factorial(-3)
    except ValueError:
        return
    raise AssertionError("factorial(-3) should raise ValueError")
