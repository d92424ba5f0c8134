"""A set of words and a set of prefixes: O(L^2) memory per word, O(1) lookups."""


class Trie:
    def __init__(self):
        self._words = set()
        self._prefixes = {""}

    def insert(self, word):
        self._words.add(word)
        for i in range(1, len(word) + 1):
            self._prefixes.add(word[:i])

    def search(self, word):
        return word in self._words

    def starts_with(self, prefix):
        return prefix in self._prefixes

    def words_with_prefix(self, prefix):
        return sorted(w for w in self._words if w.startswith(prefix))
