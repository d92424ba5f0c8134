def test_keeps_first_occurrence_order():
    assert remove_duplicates([3, 1, 3, 2, 1]) == [3, 1, 2]


def test_empty_and_single():
    assert remove_duplicates([]) == []
    assert remove_duplicates([7]) == [7]


def test_all_same_and_all_distinct():
    assert remove_duplicates(["x"] * 5) == ["x"]
    assert remove_duplicates([1, 2, 3]) == [1, 2, 3]


def test_strings_and_unicode():
    assert remove_duplicates(["é", "e", "é", "ü", "e"]) == ["é", "e", "ü"]


def test_does_not_modify_input():
    data = [1, 1, 2]
    assert remove_duplicates(data) == [1, 2]
    assert data == [1, 1, 2]


def test_equal_values_of_other_types():
    assert remove_duplicates([1, 1.0, True, 2]) == [1, 2]
