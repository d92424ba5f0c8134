"""Two stacks: push onto inbox, pop from outbox, refill when empty (amortised O(1))."""


class Queue:
    def __init__(self):
        self._in = []
        self._out = []

    def _shift(self):
        if not self._out:
            while self._in:
                self._out.append(self._in.pop())

    def enqueue(self, item):
        self._in.append(item)

    def dequeue(self):
        self._shift()
        if not self._out:
            raise IndexError("dequeue from an empty queue")
        return self._out.pop()

    def peek(self):
        self._shift()
        if not self._out:
            raise IndexError("peek at an empty queue")
        return self._out[-1]

    def is_empty(self):
        return not self._in and not self._out

    def __len__(self):
        return len(self._in) + len(self._out)
