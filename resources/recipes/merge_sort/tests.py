def test_sorts():
    assert merge_sort([5, 2, 9, 1, 5, 6]) == [1, 2, 5, 5, 6, 9]


def test_edges():
    assert merge_sort([]) == []
    assert merge_sort([1]) == [1]
    assert merge_sort([3, 2, 1]) == [1, 2, 3]
    assert merge_sort(["b", "a"]) == ["a", "b"]


def test_does_not_modify_input():
    data = [3, 1, 2]
    assert merge_sort(data) == [1, 2, 3]
    assert data == [3, 1, 2]


def test_matches_sorted():
    data = [(i * 7919) % 101 - 50 for i in range(200)]
    assert merge_sort(data) == sorted(data)


def test_stable():
    pairs = [(2, "a"), (1, "b"), (2, "c"), (1, "d")]
    keyed = [p[0] * 10 + i for i, p in enumerate(pairs)]
    assert merge_sort(keyed) == sorted(keyed)
