"""A dict for values and a list for the use order: O(n) per access."""


class LRUCache:
    def __init__(self, capacity):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._data = {}
        self._order = []

    def _touch(self, key):
        if key in self._order:
            self._order.remove(key)
        self._order.append(key)

    def get(self, key):
        if key not in self._data:
            return -1
        self._touch(key)
        return self._data[key]

    def put(self, key, value):
        self._data[key] = value
        self._touch(key)
        if len(self._data) > self.capacity:
            oldest = self._order.pop(0)
            del self._data[oldest]

    def __len__(self):
        return len(self._data)
