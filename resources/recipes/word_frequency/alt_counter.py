"""collections.Counter over the regex matches."""
import re
from collections import Counter


def word_frequency(text):
    return dict(Counter(w for w in (m.strip("'") for m in re.findall(r"[a-z0-9']+", text.lower())) if w))
