def _is_subsequence(small, big):
    it = iter(big)
    return all(ch in it for ch in small)


def _check(a, b, expected_length):
    result = longest_common_subsequence(a, b)
    assert isinstance(result, str)
    assert len(result) == expected_length, (a, b, result)
    assert _is_subsequence(result, a) and _is_subsequence(result, b), (a, b, result)


def test_classic_examples():
    _check("ABCBDAB", "BDCABA", 4)
    _check("AGGTAB", "GXTXAYB", 4)
    assert longest_common_subsequence("abcde", "ace") == "ace"


def test_empty_inputs():
    assert longest_common_subsequence("", "") == ""
    assert longest_common_subsequence("abc", "") == ""
    assert longest_common_subsequence("", "abc") == ""


def test_no_common_characters():
    assert longest_common_subsequence("abc", "xyz") == ""


def test_identical_and_single():
    assert longest_common_subsequence("hello", "hello") == "hello"
    assert longest_common_subsequence("a", "a") == "a"
    assert longest_common_subsequence("a", "b") == ""


def test_unicode():
    _check("naïve café", "native cafe", 8)
    assert longest_common_subsequence("日本語です", "日本です") == "日本です"
