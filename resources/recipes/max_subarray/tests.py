def test_classic_example():
    assert max_subarray([-2, 1, -3, 4, -1, 2, 1, -5, 4]) == 6


def test_single_element():
    assert max_subarray([5]) == 5
    assert max_subarray([-5]) == -5


def test_all_negative_takes_largest():
    assert max_subarray([-8, -3, -6, -2, -5, -4]) == -2


def test_all_positive_takes_everything():
    assert max_subarray([1, 2, 3, 4]) == 10


def test_zeros_and_mixed():
    assert max_subarray([0, 0, 0]) == 0
    assert max_subarray([2, -1, 2, -1, 2]) == 4
    assert max_subarray([5, -10, 6]) == 6


def test_empty_raises():
    try:
        max_subarray([])
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError for an empty list")
