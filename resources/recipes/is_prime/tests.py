def test_small_numbers():
    assert [n for n in range(30) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_negative_zero_one():
    assert not is_prime(-7)
    assert not is_prime(0)
    assert not is_prime(1)


def test_squares_of_primes_are_not_prime():
    for p in (2, 3, 5, 7, 11, 13, 97):
        assert not is_prime(p * p)


def test_larger_primes():
    assert is_prime(7919)
    assert is_prime(104729)
    assert not is_prime(104731)
