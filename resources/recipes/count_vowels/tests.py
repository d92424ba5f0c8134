def test_simple_word():
    assert count_vowels("hello") == 2
    assert count_vowels("rhythm") == 0


def test_empty():
    assert count_vowels("") == 0


def test_upper_and_mixed_case():
    assert count_vowels("AEIOU") == 5
    assert count_vowels("Programming In Python") == 5


def test_y_is_not_a_vowel():
    assert count_vowels("yyy") == 0
    assert count_vowels("sky") == 0


def test_accented_letters_count():
    assert count_vowels("café") == 2
    assert count_vowels("naïve") == 3
    assert count_vowels("ÉLAN") == 2


def test_punctuation_and_digits():
    assert count_vowels("a1e2i3o4u5!?") == 5
    assert count_vowels("12345 !@#") == 0
