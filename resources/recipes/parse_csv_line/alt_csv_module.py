"""The standard library's csv module in strict mode (C parser)."""

import csv


def parse_csv_line(line: str, delimiter: str = ",") -> list[str]:
    if line == "":
        return [""]
    try:
        rows = list(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise ValueError(str(exc)) from exc
    return rows[0] if rows else [""]
