def test_first_five_rows():
    assert pascal_triangle(5) == [[1], [1, 1], [1, 2, 1], [1, 3, 3, 1], [1, 4, 6, 4, 1]]


def test_zero_and_one_row():
    assert pascal_triangle(0) == []
    assert pascal_triangle(1) == [[1]]


def test_row_sums_are_powers_of_two():
    rows = pascal_triangle(20)
    assert len(rows) == 20
    for i, row in enumerate(rows):
        assert len(row) == i + 1
        assert sum(row) == 2**i


def test_symmetry_and_big_values():
    rows = pascal_triangle(61)
    assert all(row == row[::-1] for row in rows)
    assert rows[60][30] == 118264581564861424


def test_negative_raises():
    try:
        pascal_triangle(-1)
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError for a negative row count")
