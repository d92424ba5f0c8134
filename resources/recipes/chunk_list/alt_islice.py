"""itertools.islice over one iterator: works for any iterable, not only lists."""

from itertools import islice


def chunk_list(items: list, size: int) -> list[list]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    it = iter(items)
    return list(iter(lambda: list(islice(it, size)), []))
