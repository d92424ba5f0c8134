"""First element as pivot with loops (slow on sorted input)."""


def quick_sort(items):
    if len(items) <= 1:
        return list(items)
    pivot = items[0]
    smaller, equal, larger = [], [], []
    for x in items:
        if x < pivot:
            smaller.append(x)
        elif x > pivot:
            larger.append(x)
        else:
            equal.append(x)
    return quick_sort(smaller) + equal + quick_sort(larger)
