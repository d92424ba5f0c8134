def test_to_roman():
    assert to_roman(1) == "I"
    assert to_roman(4) == "IV"
    assert to_roman(9) == "IX"
    assert to_roman(14) == "XIV"
    assert to_roman(1994) == "MCMXCIV"
    assert to_roman(3999) == "MMMCMXCIX"


def test_from_roman():
    assert from_roman("III") == 3
    assert from_roman("LVIII") == 58
    assert from_roman("mcmxciv") == 1994


def test_round_trip():
    for n in range(1, 4000):
        assert from_roman(to_roman(n)) == n


def test_invalid():
    for bad in (0, 4000, -1):
        try:
            to_roman(bad)
        except ValueError:
            continue
        raise AssertionError(f"to_roman({bad}) should raise ValueError")
    try:
        from_roman("ABC")
    except ValueError:
        return
    raise AssertionError("from_roman('ABC') should raise ValueError")
