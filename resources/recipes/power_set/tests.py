def _normal(subsets):
    return sorted(sorted(s) for s in subsets)


def test_three_items():
    result = power_set([1, 2, 3])
    assert len(result) == 8
    assert _normal(result) == [[], [1], [1, 2], [1, 2, 3], [1, 3], [2], [2, 3], [3]]


def test_empty_and_single():
    assert power_set([]) == [[]]
    assert _normal(power_set(["x"])) == [[], ["x"]]


def test_subsets_keep_original_order():
    for subset in power_set([3, 1, 2]):
        positions = [[3, 1, 2].index(x) for x in subset]
        assert positions == sorted(positions)


def test_size_and_distinct():
    result = power_set(list(range(10)))
    assert len(result) == 1024
    assert len({tuple(s) for s in result}) == 1024


def test_repeated_values_are_positional():
    result = power_set(["a", "a"])
    assert len(result) == 4
    assert _normal(result) == [[], ["a"], ["a"], ["a", "a"]]
