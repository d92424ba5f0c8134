def test_even_split():
    assert chunk_list([1, 2, 3, 4, 5, 6], 2) == [[1, 2], [3, 4], [5, 6]]


def test_last_chunk_shorter():
    assert chunk_list([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]


def test_empty_and_single():
    assert chunk_list([], 3) == []
    assert chunk_list(["a"], 3) == [["a"]]


def test_size_one_and_larger_than_list():
    assert chunk_list([1, 2, 3], 1) == [[1], [2], [3]]
    assert chunk_list([1, 2, 3], 10) == [[1, 2, 3]]


def test_invalid_size_raises():
    for bad in (0, -2):
        try:
            chunk_list([1, 2], bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"expected ValueError for size {bad}")


def test_chunks_rejoin_to_original():
    data = list(range(23))
    chunks = chunk_list(data, 5)
    assert [x for c in chunks for x in c] == data
    assert all(isinstance(c, list) for c in chunks)
