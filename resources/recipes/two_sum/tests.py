def test_examples():
    assert two_sum([2, 7, 11, 15], 9) == (0, 1)
    assert two_sum([3, 2, 4], 6) == (1, 2)
    assert two_sum([3, 3], 6) == (0, 1)


def test_no_pair():
    assert two_sum([1, 2, 3], 100) is None
    assert two_sum([], 0) is None
    assert two_sum([5], 10) is None


def test_negative_numbers():
    assert two_sum([-3, 4, 3, 90], 0) == (0, 2)


def test_returned_pair_is_valid():
    nums = [(i * 37) % 101 for i in range(101)]
    i, j = two_sum(nums, 150)
    assert i < j and nums[i] + nums[j] == 150
