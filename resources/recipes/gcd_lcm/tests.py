def test_gcd():
    assert gcd(12, 18) == 6
    assert gcd(17, 5) == 1
    assert gcd(0, 9) == 9
    assert gcd(9, 0) == 9
    assert gcd(0, 0) == 0
    assert gcd(-12, 18) == 6


def test_lcm():
    assert lcm(4, 6) == 12
    assert lcm(21, 6) == 42
    assert lcm(0, 5) == 0
    assert lcm(-4, 6) == 12


def test_identity():
    for a in range(1, 40):
        for b in range(1, 40):
            assert gcd(a, b) * lcm(a, b) == a * b
