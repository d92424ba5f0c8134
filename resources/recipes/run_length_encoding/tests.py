def test_encode():
    assert rle_encode("aaabcc") == "3a1b2c"
    assert rle_encode("a") == "1a"
    assert rle_encode("") == ""
    assert rle_encode("abc") == "1a1b1c"


def test_long_runs():
    assert rle_encode("x" * 12) == "12x"
    assert rle_decode("12x") == "x" * 12


def test_round_trip():
    for s in ("", "aabbbbcdd", "  !!??", "zzzzzzzzzzzzzzzzzzzzzzzy"):
        assert rle_decode(rle_encode(s)) == s
