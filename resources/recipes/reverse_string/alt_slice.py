"""Slicing with step -1: one C-level pass."""


def reverse_string(text: str) -> str:
    return text[::-1]
