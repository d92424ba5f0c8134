def test_encode():
    assert caesar("abc", 1) == "bcd"
    assert caesar("xyz", 3) == "abc"
    assert caesar("Hello, World!", 3) == "Khoor, Zruog!"


def test_decode_round_trip():
    text = "Attack at Dawn 123"
    for shift in (1, 5, 13, 25, 26, 27, -4):
        assert caesar(caesar(text, shift), -shift) == text


def test_rot13_is_its_own_inverse():
    assert caesar(caesar("Why did the chicken?", 13), 13) == "Why did the chicken?"
    assert caesar("Hello", 13) == "Uryyb"


def test_non_letters_unchanged():
    assert caesar("123 !?", 7) == "123 !?"
    assert caesar("", 3) == ""
