def test_lifo_order():
    s = Stack()
    for i in range(5):
        s.push(i)
    assert [s.pop() for _ in range(5)] == [4, 3, 2, 1, 0]


def test_peek_len_empty():
    s = Stack()
    assert s.is_empty() and len(s) == 0
    s.push("a")
    s.push("b")
    assert s.peek() == "b" and len(s) == 2
    assert not s.is_empty()


def test_errors_when_empty():
    s = Stack()
    for op in (s.pop, s.peek):
        try:
            op()
        except IndexError:
            continue
        raise AssertionError("expected IndexError")
