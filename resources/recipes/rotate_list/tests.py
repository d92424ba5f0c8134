def test_rotate_right():
    assert rotate_list([1, 2, 3, 4, 5], 2) == [4, 5, 1, 2, 3]


def test_rotate_left_with_negative_k():
    assert rotate_list([1, 2, 3, 4, 5], -2) == [3, 4, 5, 1, 2]


def test_k_larger_than_length():
    assert rotate_list([1, 2, 3], 7) == [3, 1, 2]
    assert rotate_list([1, 2, 3], 3) == [1, 2, 3]


def test_empty_and_single():
    assert rotate_list([], 4) == []
    assert rotate_list(["x"], 5) == ["x"]


def test_zero_and_input_untouched():
    data = [1, 2, 3]
    assert rotate_list(data, 0) == [1, 2, 3]
    assert rotate_list(data, 1) == [3, 1, 2]
    assert data == [1, 2, 3]
