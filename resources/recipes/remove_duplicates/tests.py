def test_keeps_first_occurrence_order():
    assert remove_duplicates([3, 1, 3, 2, 1]) == [3, 1, 2]


def test_edges():
    assert remove_duplicates([]) == []
    assert remove_duplicates([1, 1, 1]) == [1]
    assert remove_duplicates(["b", "a", "b"]) == ["b", "a"]


def test_input_unchanged():
    data = [1, 2, 1]
    remove_duplicates(data)
    assert data == [1, 2, 1]
