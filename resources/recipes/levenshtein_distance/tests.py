def test_classic():
    assert levenshtein_distance("kitten", "sitting") == 3
    assert levenshtein_distance("flaw", "lawn") == 2


def test_empty_strings():
    assert levenshtein_distance("", "") == 0
    assert levenshtein_distance("", "abc") == 3
    assert levenshtein_distance("abc", "") == 3


def test_identical_and_single_char():
    assert levenshtein_distance("same", "same") == 0
    assert levenshtein_distance("a", "b") == 1
    assert levenshtein_distance("a", "a") == 0


def test_symmetric():
    pairs = [("intention", "execution"), ("book", "back"), ("ab", "ba")]
    for x, y in pairs:
        assert levenshtein_distance(x, y) == levenshtein_distance(y, x)
    assert levenshtein_distance("intention", "execution") == 5


def test_unicode_and_case():
    assert levenshtein_distance("café", "cafe") == 1
    assert levenshtein_distance("Straße", "strasse") == 3
