def test_classic():
    assert knapsack_01([1, 3, 4, 5], [1, 4, 5, 7], 7) == 9
    assert knapsack_01([10, 20, 30], [60, 100, 120], 50) == 220


def test_empty_and_zero_capacity():
    assert knapsack_01([], [], 10) == 0
    assert knapsack_01([1, 2], [5, 6], 0) == 0


def test_single_item_fits_or_not():
    assert knapsack_01([5], [10], 5) == 10
    assert knapsack_01([6], [10], 5) == 0


def test_each_item_used_once():
    # An unbounded knapsack would take the weight-1 item five times.
    assert knapsack_01([1, 5], [3, 10], 5) == 10


def test_zero_weight_items_are_free():
    assert knapsack_01([0, 0, 3], [2, 4, 5], 2) == 6


def test_invalid_input_raises():
    for args in (([1, 2], [1], 5), ([1], [1], -1), ([-1], [5], 3)):
        try:
            knapsack_01(*args)
        except ValueError:
            pass
        else:
            raise AssertionError(f"expected ValueError for {args!r}")
