def test_classic():
    assert merge_intervals([(1, 3), (2, 6), (8, 10), (15, 18)]) == [(1, 6), (8, 10), (15, 18)]


def test_touching_intervals_merge():
    assert merge_intervals([(1, 4), (4, 5)]) == [(1, 5)]


def test_empty_and_single():
    assert merge_intervals([]) == []
    assert merge_intervals([(2, 3)]) == [(2, 3)]


def test_unsorted_and_contained():
    assert merge_intervals([(5, 7), (1, 10), (2, 3)]) == [(1, 10)]
    assert merge_intervals([(8, 9), (1, 2), (4, 5)]) == [(1, 2), (4, 5), (8, 9)]


def test_lists_as_input_and_points():
    assert merge_intervals([[1, 2], [3, 3], [2, 2]]) == [(1, 2), (3, 3)]
    assert merge_intervals([(-5, -1), (-2, 0)]) == [(-5, 0)]


def test_reversed_interval_raises():
    try:
        merge_intervals([(1, 2), (5, 3)])
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError for (5, 3)")
