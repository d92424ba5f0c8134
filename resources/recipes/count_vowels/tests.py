def test_counts():
    assert count_vowels("hello world") == 3
    assert count_vowels("AEIOU aeiou") == 10


def test_none():
    assert count_vowels("") == 0
    assert count_vowels("rhythm") == 0
    assert count_vowels("123 !?") == 0


def test_sentence():
    assert count_vowels("The quick brown fox jumps over the lazy dog") == 11
