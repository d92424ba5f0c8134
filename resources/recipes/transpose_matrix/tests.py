def test_rectangular():
    assert transpose_matrix([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]


def test_square():
    assert transpose_matrix([[1, 2], [3, 4]]) == [[1, 3], [2, 4]]


def test_empty_and_single():
    assert transpose_matrix([]) == []
    assert transpose_matrix([[7]]) == [[7]]


def test_single_row_and_column():
    assert transpose_matrix([[1, 2, 3]]) == [[1], [2], [3]]
    assert transpose_matrix([[1], [2], [3]]) == [[1, 2, 3]]


def test_involution_and_input_untouched():
    m = [["a", "b"], ["c", "d"], ["e", "f"]]
    assert transpose_matrix(transpose_matrix(m)) == m
    assert m == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_ragged_rows_raise():
    try:
        transpose_matrix([[1, 2], [3]])
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError for ragged rows")
