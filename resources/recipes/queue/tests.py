def test_fifo_order():
    q = Queue()
    for i in range(5):
        q.enqueue(i)
    assert [q.dequeue() for _ in range(5)] == [0, 1, 2, 3, 4]


def test_interleaved():
    q = Queue()
    q.enqueue(1)
    q.enqueue(2)
    assert q.dequeue() == 1
    q.enqueue(3)
    assert q.peek() == 2 and len(q) == 2
    assert q.dequeue() == 2 and q.dequeue() == 3
    assert q.is_empty()


def test_errors_when_empty():
    q = Queue()
    for op in (q.dequeue, q.peek):
        try:
            op()
        except IndexError:
            continue
        raise AssertionError("expected IndexError")
