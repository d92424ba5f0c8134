def _decode(text: str) -> str:
    """Undo form encoding: '+' is a space, %XX is a byte; bytes are decoded as UTF-8."""
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "+":
            out += b" "
            i += 1
        elif char == "%" and _is_hex(text[i + 1 : i + 3]):
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out += char.encode("utf-8")
            i += 1
    return out.decode("utf-8", "replace")


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def parse_query_string(query: str) -> dict[str, list[str]]:
    """Map each key of a URL query string (``a=1&b=x+y``) to the list of its decoded values."""
    if query.startswith("?"):
        query = query[1:]
    result: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        result.setdefault(_decode(key), []).append(_decode(value))
    return result
