def rle_encode(text: str) -> str:
    """Run-length encode ``text`` as count + character pairs."""
    if not text:
        return ""
    out = []
    current, count = text[0], 1
    for char in text[1:]:
        if char == current:
            count += 1
        else:
            out.append(f"{count}{current}")
            current, count = char, 1
    out.append(f"{count}{current}")
    return "".join(out)


def rle_decode(encoded: str) -> str:
    """Inverse of :func:`rle_encode`."""
    out = []
    digits = ""
    for char in encoded:
        if char.isdigit():
            digits += char
        else:
            out.append(char * int(digits or "1"))
            digits = ""
    return "".join(out)
