def test_anagrams():
    assert is_anagram("listen", "silent")
    assert is_anagram("Dormitory", "Dirty room")
    assert is_anagram("", "")


def test_not_anagrams():
    assert not is_anagram("hello", "world")
    assert not is_anagram("aab", "abb")
    assert not is_anagram("abc", "abcd")


def test_case_insensitive():
    assert is_anagram("Tea", "EAT")
