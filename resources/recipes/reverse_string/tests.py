def test_word():
    assert reverse_string("hello") == "olleh"


def test_empty_and_single():
    assert reverse_string("") == ""
    assert reverse_string("a") == "a"


def test_palindrome_and_spaces():
    assert reverse_string("racecar") == "racecar"
    assert reverse_string("ab cd") == "dc ba"


def test_unicode():
    assert reverse_string("héllo→") == "→olléh"


def test_involution():
    s = "The quick brown fox"
    assert reverse_string(reverse_string(s)) == s
