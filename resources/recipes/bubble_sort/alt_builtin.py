"""What bubble sort is for in production: sorted()."""


def bubble_sort(items):
    return sorted(items)
