def test_pops_in_ascending_order():
    h = MinHeap()
    for x in [5, 3, 8, 1, 9, 2, 7]:
        h.push(x)
    assert [h.pop() for _ in range(7)] == [1, 2, 3, 5, 7, 8, 9]
    assert len(h) == 0


def test_peek_and_len():
    h = MinHeap()
    assert len(h) == 0
    h.push(4)
    h.push(2)
    assert h.peek() == 2
    assert len(h) == 2
    assert h.pop() == 2
    assert h.peek() == 4 and len(h) == 1


def test_empty_raises_index_error():
    h = MinHeap()
    for op in (h.pop, h.peek):
        try:
            op()
        except IndexError:
            continue
        raise AssertionError("expected IndexError")


def test_duplicates_and_negatives():
    h = MinHeap([3, -1, 3, 0, -1])
    assert [h.pop() for _ in range(5)] == [-1, -1, 0, 3, 3]


def test_tuples_as_priorities():
    h = MinHeap()
    h.push((2, "write"))
    h.push((1, "plan"))
    h.push((3, "ship"))
    assert h.pop() == (1, "plan")
    assert h.pop() == (2, "write")


def test_interleaved_matches_sorted():
    h = MinHeap()
    seen = []
    out = []
    for i in range(200):
        v = (i * 37) % 101
        h.push(v)
        seen.append(v)
        if i % 3 == 0:
            smallest = min(seen)
            seen.remove(smallest)
            out.append(h.pop() == smallest)
    assert all(out)
    assert [h.pop() for _ in range(len(h))] == sorted(seen)
