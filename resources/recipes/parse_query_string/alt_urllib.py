"""The standard library's urllib.parse.parse_qs, keeping blank values."""

from urllib.parse import parse_qs


def parse_query_string(query: str) -> dict[str, list[str]]:
    return parse_qs(query.removeprefix("?"), keep_blank_values=True)
