"""list.count per distinct word: quadratic, simple."""
import re


def word_frequency(text):
    found = [w.strip("'") for w in re.findall(r"[a-z0-9']+", text.lower())]
    found = [w for w in found if w]
    return {w: found.count(w) for w in set(found)}
