def merge_sorted(left: list[int], right: list[int]) -> list[int]:
    """One sorted list with every element of the sorted lists ``left`` and ``right``."""
    merged = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    merged.extend(left[i:])
    merged.extend(right[j:])
    return merged
