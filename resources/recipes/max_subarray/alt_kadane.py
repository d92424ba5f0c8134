"""Kadane's algorithm: one pass, O(n)."""


def max_subarray(nums: list[int]) -> int:
    if not nums:
        raise ValueError("max_subarray() needs at least one number")
    best = current = nums[0]
    for x in nums[1:]:
        current = max(x, current + x)
        best = max(best, current)
    return best
