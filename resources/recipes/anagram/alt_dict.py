"""Count up for one word and down for the other with a plain dict."""


def is_anagram(first, second):
    counts = {}
    for c in first.lower():
        if not c.isspace():
            counts[c] = counts.get(c, 0) + 1
    for c in second.lower():
        if not c.isspace():
            counts[c] = counts.get(c, 0) - 1
    return all(v == 0 for v in counts.values())
