def max_subarray(nums: list[int]) -> int:
    """Largest sum of a non-empty contiguous run of ``nums``.

    Raises:
        ValueError: ``nums`` is empty.
    """
    if not nums:
        raise ValueError("max_subarray() needs at least one number")
    best = nums[0]
    for start in range(len(nums)):
        total = 0
        for end in range(start, len(nums)):
            total += nums[end]
            if total > best:
                best = total
    return best
