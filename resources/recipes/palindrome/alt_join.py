"""Cleaned string via a generator and join."""


def is_palindrome(text):
    s = "".join(c.lower() for c in text if c.isalnum())
    return s == s[::-1]
