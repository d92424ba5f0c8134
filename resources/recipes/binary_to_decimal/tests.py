def test_from_binary_basic():
    assert from_binary("0") == 0
    assert from_binary("1") == 1
    assert from_binary("101") == 5
    assert from_binary("11111111") == 255


def test_from_binary_prefix_sign_and_leading_zeros():
    assert from_binary("0b1010") == 10
    assert from_binary("-11") == -3
    assert from_binary("-0b100") == -4
    assert from_binary("000101") == 5


def test_from_binary_rejects_bad_input():
    for bad in ("", "-", "0b", "102", "1 0", "abc", "1_0", " 101", "１０"):
        try:
            from_binary(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"expected ValueError for {bad!r}")


def test_to_binary():
    assert to_binary(0) == "0"
    assert to_binary(1) == "1"
    assert to_binary(5) == "101"
    assert to_binary(1024) == "10000000000"
    assert to_binary(-6) == "-110"


def test_round_trip_large():
    for n in [*range(-40, 300), 2**64 + 12345, -(2**70)]:
        assert from_binary(to_binary(n)) == n
