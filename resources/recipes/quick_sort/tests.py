def test_sorts():
    assert quick_sort([5, 2, 9, 1, 5, 6]) == [1, 2, 5, 5, 6, 9]


def test_edges():
    assert quick_sort([]) == []
    assert quick_sort([1]) == [1]
    assert quick_sort([3, 2, 1]) == [1, 2, 3]
    assert quick_sort(["b", "a"]) == ["a", "b"]


def test_does_not_modify_input():
    data = [3, 1, 2]
    assert quick_sort(data) == [1, 2, 3]
    assert data == [3, 1, 2]


def test_matches_sorted():
    data = [(i * 7919) % 101 - 50 for i in range(200)]
    assert quick_sort(data) == sorted(data)
