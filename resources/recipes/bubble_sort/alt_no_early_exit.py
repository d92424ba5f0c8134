"""Textbook bubble sort without the early exit: always n^2 comparisons."""


def bubble_sort(items):
    data = list(items)
    for i in range(len(data)):
        for j in range(len(data) - 1 - i):
            if data[j] > data[j + 1]:
                data[j], data[j + 1] = data[j + 1], data[j]
    return data
