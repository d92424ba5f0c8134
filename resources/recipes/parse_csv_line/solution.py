def parse_csv_line(line: str, delimiter: str = ",") -> list[str]:
    """The fields of one CSV line; double-quoted fields may hold delimiters and "" for a quote.

    Raises:
        ValueError: A quoted field is not closed, or text follows its closing quote.
    """
    fields: list[str] = []
    field = ""
    i = 0
    n = len(line)
    while True:
        if i < n and line[i] == '"':
            # Quoted field: read to the closing quote.
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unterminated quoted field")
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        field += '"'
                        i += 2
                        continue
                    i += 1
                    break
                field += line[i]
                i += 1
            if i < n and line[i] != delimiter:
                raise ValueError(f"unexpected character {line[i]!r} after a closing quote")
        else:
            while i < n and line[i] != delimiter:
                field += line[i]
                i += 1
        fields.append(field)
        field = ""
        if i >= n:
            return fields
        i += 1  # skip the delimiter; another field follows (possibly empty)
