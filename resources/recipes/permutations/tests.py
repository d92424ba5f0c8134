def test_three_items():
    result = permutations([1, 2, 3])
    assert len(result) == 6
    assert sorted(result) == [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]]


def test_empty_and_single():
    assert permutations([]) == [[]]
    assert permutations(["a"]) == [["a"]]


def test_two_items():
    assert sorted(permutations([2, 1])) == [[1, 2], [2, 1]]


def test_count_and_distinct():
    result = permutations(list(range(5)))
    assert len(result) == 120
    assert len({tuple(p) for p in result}) == 120
    assert all(sorted(p) == [0, 1, 2, 3, 4] for p in result)


def test_repeated_values_are_positional():
    result = permutations([1, 1, 2])
    assert len(result) == 6
    assert sorted(result).count([1, 1, 2]) == 2


def test_characters_and_input_untouched():
    data = list("ab→")
    result = permutations(data)
    assert sorted("".join(p) for p in result) == sorted(["ab→", "a→b", "ba→", "b→a", "→ab", "→ba"])
    assert data == ["a", "b", "→"]
