"""Letter counts with collections.Counter: O(n)."""
from collections import Counter


def is_anagram(first, second):
    def count(text):
        return Counter(c for c in text.lower() if not c.isspace())

    return count(first) == count(second)
