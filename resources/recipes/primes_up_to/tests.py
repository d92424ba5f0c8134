def test_small():
    assert primes_up_to(30) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_edges():
    assert primes_up_to(-5) == []
    assert primes_up_to(0) == []
    assert primes_up_to(1) == []
    assert primes_up_to(2) == [2]
    assert primes_up_to(3) == [2, 3]


def test_inclusive_bound():
    assert primes_up_to(97)[-1] == 97
    assert primes_up_to(100)[-1] == 97


def test_count():
    assert len(primes_up_to(10000)) == 1229
