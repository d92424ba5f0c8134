def test_finds_every_element():
    data = [1, 3, 5, 7, 9, 11]
    for i, x in enumerate(data):
        assert binary_search(data, x) == i


def test_missing_values():
    data = [1, 3, 5, 7]
    for x in (0, 2, 4, 6, 8):
        assert binary_search(data, x) == -1


def test_empty_and_single():
    assert binary_search([], 3) == -1
    assert binary_search([3], 3) == 0
    assert binary_search([3], 4) == -1


def test_large():
    data = list(range(0, 10000, 3))
    assert binary_search(data, 2997) == 999
    assert binary_search(data, 2998) == -1
