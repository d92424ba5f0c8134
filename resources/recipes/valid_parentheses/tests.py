def test_balanced():
    for s in ("", "()", "()[]{}", "{[()]}", "(a + b) * [c]", "((()))"):
        assert is_balanced(s), s


def test_unbalanced():
    for s in ("(", ")", "(]", "([)]", "{{}", "())(", "]"):
        assert not is_balanced(s), s


def test_long():
    assert is_balanced("([{}])" * 1000)
    assert not is_balanced("(" * 1000 + ")" * 999)
