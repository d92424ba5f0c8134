"""Look each letter up with str.index in the alphabet."""
import string


def caesar(text, shift):
    result = ""
    for c in text:
        for alphabet in (string.ascii_lowercase, string.ascii_uppercase):
            if c in alphabet:
                c = alphabet[(alphabet.index(c) + shift) % 26]
                break
        result += c
    return result
