"""Delete innermost pairs until nothing changes: O(n^2), no stack."""


def is_balanced(text):
    s = "".join(c for c in text if c in "()[]{}")
    previous = None
    while s != previous:
        previous = s
        s = s.replace("()", "").replace("[]", "").replace("{}", "")
    return s == ""
