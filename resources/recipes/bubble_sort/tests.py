def test_sorts():
    assert bubble_sort([5, 2, 9, 1, 5, 6]) == [1, 2, 5, 5, 6, 9]


def test_edges():
    assert bubble_sort([]) == []
    assert bubble_sort([1]) == [1]
    assert bubble_sort([3, 2, 1]) == [1, 2, 3]
    assert bubble_sort(["b", "a"]) == ["a", "b"]


def test_does_not_modify_input():
    data = [3, 1, 2]
    assert bubble_sort(data) == [1, 2, 3]
    assert data == [3, 1, 2]


def test_matches_sorted():
    data = [(i * 7919) % 101 - 50 for i in range(200)]
    assert bubble_sort(data) == sorted(data)
