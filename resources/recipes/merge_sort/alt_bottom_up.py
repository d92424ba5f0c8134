"""Bottom-up merge sort: merge runs of width 1, 2, 4, ... without recursion."""


def merge_sort(items):
    data = list(items)
    width = 1
    n = len(data)
    while width < n:
        out = []
        for start in range(0, n, 2 * width):
            left = data[start : start + width]
            right = data[start + width : start + 2 * width]
            i = j = 0
            while i < len(left) and j < len(right):
                if left[i] <= right[j]:
                    out.append(left[i])
                    i += 1
                else:
                    out.append(right[j])
                    j += 1
            out.extend(left[i:])
            out.extend(right[j:])
        data = out
        width *= 2
    return data
