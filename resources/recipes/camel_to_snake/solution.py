def camel_to_snake(name: str) -> str:
    """``name`` in snake_case: ``camelCase`` -> ``camel_case``, ``HTTPServer`` -> ``http_server``."""
    out: list[str] = []
    for i, char in enumerate(name):
        if char.isupper() and i > 0:
            prev = name[i - 1]
            nxt = name[i + 1] if i + 1 < len(name) else ""
            if prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower()):
                out.append("_")
        out.append(char.lower())
    return "".join(out)
