"""The standard library's os.path.commonprefix (character-wise, not path-wise)."""
import os.path


def longest_common_prefix(strings: list[str]) -> str:
    return os.path.commonprefix(list(strings))
