def test_nested():
    assert flatten([1, [2, [3, [4]], 5]]) == [1, 2, 3, 4, 5]


def test_flat_and_empty():
    assert flatten([]) == []
    assert flatten([[], [[]]]) == []
    assert flatten([1, 2]) == [1, 2]


def test_strings_are_leaves():
    assert flatten(["ab", ["cd", ("ef",)]]) == ["ab", "cd", "ef"]


def test_deep():
    deep = [0]
    for i in range(1, 200):
        deep = [deep, i]
    assert flatten(deep) == list(range(200))
