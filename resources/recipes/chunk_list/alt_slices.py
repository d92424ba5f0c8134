"""One slice per chunk in a comprehension: C-level copying."""


def chunk_list(items: list, size: int) -> list[list]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    seq = list(items)
    return [seq[i : i + size] for i in range(0, len(seq), size)]
