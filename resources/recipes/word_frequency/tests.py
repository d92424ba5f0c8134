def test_counts():
    assert word_frequency("the cat and the hat") == {"the": 2, "cat": 1, "and": 1, "hat": 1}


def test_case_and_punctuation():
    assert word_frequency("Hello, hello! HELLO?") == {"hello": 3}


def test_apostrophes_and_digits():
    freq = word_frequency("It's 2 o'clock, it's 2.")
    assert freq["it's"] == 2
    assert freq["2"] == 2
    assert freq["o'clock"] == 1


def test_empty():
    assert word_frequency("") == {}
    assert word_frequency("  ...  ") == {}
