def test_simple():
    assert is_palindrome("racecar")
    assert not is_palindrome("hello")


def test_ignores_case_and_punctuation():
    assert is_palindrome("A man, a plan, a canal: Panama")
    assert is_palindrome("No 'x' in Nixon")
    assert not is_palindrome("race a car")


def test_edges():
    assert is_palindrome("")
    assert is_palindrome("a")
    assert is_palindrome(".,!")
    assert is_palindrome("12321")
    assert not is_palindrome("12345")
