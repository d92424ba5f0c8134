def bubble_sort(items: list) -> list:
    """A sorted copy of ``items`` (bubble sort with early exit)."""
    data = list(items)
    n = len(data)
    for end in range(n - 1, 0, -1):
        swapped = False
        for i in range(end):
            if data[i] > data[i + 1]:
                data[i], data[i + 1] = data[i + 1], data[i]
                swapped = True
        if not swapped:
            break
    return data
