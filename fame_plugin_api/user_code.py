"""Finding the user's own code in a query: a fenced Python block, or "run this: …".

The router uses it to send such a query to the ``run_code`` intent before the learned classifier
is asked (code is not language the classifier was trained on), and the plugin that runs the code
uses it to take the code out of the query; one function, so both always agree.
"""

from __future__ import annotations

import re

#: Fence languages that mean Python (an unlabelled fence counts as Python too).
PYTHON_LANGS = frozenset({"", "python", "python3", "py", "py3"})

_FENCE = re.compile(
    r"(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)(?:\n[ \t]*(?P=fence)|\Z)", re.S
)
_RUN_THIS = re.compile(
    r"^\s*(?:please\s+)?(?:run|execute)"
    r"(?:\s+(?:this|the\s+following|my|some))?"
    r"(?:\s+(?:python3?|py))?"
    r"(?:\s+(?:code|script|snippet|program))?"
    r"\s*:\s*(?P<code>\S.*)$",
    re.I | re.S,
)
_INLINE = re.compile(r"^`(?P<code>[^`]+)`$", re.S)
#: Characters nearly every line of code has and almost no sentence does.
_CODE_CHARS = re.compile(r"[()=\[\]{}]")


def is_python_lang(lang: str) -> bool:
    """Whether a code block labelled ``lang`` (a fence's info word) is Python."""
    return lang.strip().lower() in PYTHON_LANGS


def user_code(text: str) -> str | None:
    """The Python code ``text`` asks to run, or None when it asks for something else.

    Two shapes count: a fenced block labelled Python (or unlabelled), anywhere in the text; and a
    query that starts with "run this: …" (also "execute", "the following", "python", "code",
    "script", ...) followed by code. The second must compile or at least look like code, so "run
    this: a marathon in four hours" stays a question.
    """
    for match in _FENCE.finditer(text):
        if is_python_lang(match.group("lang")):
            code = match.group("code")
            return code if code.endswith("\n") else code + "\n"
    asked = _RUN_THIS.match(text)
    if asked is None:
        return None
    code = asked.group("code").strip()
    inline = _INLINE.match(code)
    if inline is not None:
        code = inline.group("code").strip()
    if not code:
        return None
    try:
        compile(code, "<query>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        if _CODE_CHARS.search(code) is None:
            return None
    return code + "\n"
