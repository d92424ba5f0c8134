"""In-place Hoare partitioning with an explicit stack (no recursion)."""


def quick_sort(items):
    data = list(items)
    stack = [(0, len(data) - 1)]
    while stack:
        lo, hi = stack.pop()
        if lo >= hi:
            continue
        pivot = data[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while data[i] < pivot:
                i += 1
            while data[j] > pivot:
                j -= 1
            if i <= j:
                data[i], data[j] = data[j], data[i]
                i += 1
                j -= 1
        stack.append((lo, j))
        stack.append((i, hi))
    return data
