"""sum over a generator with a set lookup."""


def count_vowels(text):
    vowels = set("aeiouAEIOU")
    return sum(1 for c in text if c in vowels)
