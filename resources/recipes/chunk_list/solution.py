def chunk_list(items: list, size: int) -> list[list]:
    """``items`` split into consecutive lists of ``size`` items (the last may be shorter).

    Raises:
        ValueError: ``size`` is less than 1.
    """
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunks: list[list] = []
    current: list = []
    for item in items:
        current.append(item)
        if len(current) == size:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks
