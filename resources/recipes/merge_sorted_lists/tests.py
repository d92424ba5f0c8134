def test_interleaved():
    assert merge_sorted([1, 3, 5], [2, 4, 6]) == [1, 2, 3, 4, 5, 6]


def test_empty_sides():
    assert merge_sorted([], [1, 2]) == [1, 2]
    assert merge_sorted([1, 2], []) == [1, 2]
    assert merge_sorted([], []) == []


def test_duplicates_and_uneven():
    assert merge_sorted([1, 1, 4, 9, 10], [1, 2]) == [1, 1, 1, 2, 4, 9, 10]


def test_inputs_unchanged():
    a, b = [1, 5], [2, 3]
    merge_sorted(a, b)
    assert a == [1, 5] and b == [2, 3]
