"""Prefix sums: best is the largest prefix minus the smallest earlier prefix, O(n)."""


def max_subarray(nums: list[int]) -> int:
    if not nums:
        raise ValueError("max_subarray() needs at least one number")
    best = nums[0]
    prefix = 0
    lowest = 0
    for x in nums:
        prefix += x
        best = max(best, prefix - lowest)
        lowest = min(lowest, prefix)
    return best
