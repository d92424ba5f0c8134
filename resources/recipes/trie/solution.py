class Trie:
    """A prefix tree of words."""

    def __init__(self) -> None:
        self._root: dict = {}
        self._end = "$end"

    def insert(self, word: str) -> None:
        """Store ``word``."""
        node = self._root
        for char in word:
            node = node.setdefault(char, {})
        node[self._end] = True

    def _find(self, prefix: str):
        node = self._root
        for char in prefix:
            if char not in node:
                return None
            node = node[char]
        return node

    def search(self, word: str) -> bool:
        """Whether ``word`` was inserted."""
        node = self._find(word)
        return node is not None and self._end in node

    def starts_with(self, prefix: str) -> bool:
        """Whether some inserted word starts with ``prefix``."""
        return self._find(prefix) is not None

    def words_with_prefix(self, prefix: str) -> list[str]:
        """Every inserted word starting with ``prefix``, sorted."""
        node = self._find(prefix)
        if node is None:
            return []
        found = []
        stack = [(node, prefix)]
        while stack:
            current, text = stack.pop()
            for key, child in current.items():
                if key == self._end:
                    found.append(text)
                else:
                    stack.append((child, text + key))
        return sorted(found)
