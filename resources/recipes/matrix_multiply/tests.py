def test_two_by_two():
    assert matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]]) == [[19, 22], [43, 50]]


def test_rectangular():
    a = [[1, 2, 3]]
    b = [[4], [5], [6]]
    assert matmul(a, b) == [[32]]
    assert matmul(b, a) == [[4, 8, 12], [5, 10, 15], [6, 12, 18]]


def test_identity():
    m = [[2, -1, 0], [4, 5, 6], [7, 8, 9]]
    eye = [[1 if i == j else 0 for j in range(3)] for i in range(3)]
    assert matmul(m, eye) == m and matmul(eye, m) == m


def test_shape_mismatch():
    try:
        matmul([[1, 2]], [[1, 2]])
    except ValueError:
        return
    raise AssertionError("mismatched shapes should raise ValueError")
