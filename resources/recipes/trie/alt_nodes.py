"""Node objects with __slots__ instead of nested dicts."""


class _Node:
    __slots__ = ("children", "end")

    def __init__(self):
        self.children = {}
        self.end = False


class Trie:
    def __init__(self):
        self._root = _Node()

    def insert(self, word):
        node = self._root
        for c in word:
            if c not in node.children:
                node.children[c] = _Node()
            node = node.children[c]
        node.end = True

    def _find(self, prefix):
        node = self._root
        for c in prefix:
            node = node.children.get(c)
            if node is None:
                return None
        return node

    def search(self, word):
        node = self._find(word)
        return node is not None and node.end

    def starts_with(self, prefix):
        return self._find(prefix) is not None

    def words_with_prefix(self, prefix):
        out = []

        def walk(node, text):
            if node.end:
                out.append(text)
            for c, child in node.children.items():
                walk(child, text + c)

        node = self._find(prefix)
        if node is not None:
            walk(node, prefix)
        return sorted(out)
