"""Markdown to the HTML subset QTextBrowser renders: highlighted code blocks with a copy link.

Answers are Markdown (markdown-it-py, CommonMark, raw HTML disabled so an answer cannot inject
markup). Code blocks are highlighted by Pygments with inline styles (QTextBrowser has no
stylesheet classes for spans) and get a ``copy:N`` link; the chat pane maps N to the code text.
Python blocks (and unlabelled ones) also get a ``run:N`` link, under the ``runCodeButton`` that
:mod:`fame_desktop.ui.qt_code_buttons` lays over it.

Both libraries (about 0.2 s to import) load with the first render, which the window's start-up
warm-up does in a worker thread after the first paint, not before it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fame_plugin_api import is_python_lang

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

LIGHT_STYLE = "friendly"
DARK_STYLE = "monokai"


@dataclass
class RenderedMarkdown:
    """HTML for the chat view and the code blocks its ``copy:N`` links refer to."""

    html: str
    code_blocks: list[str] = field(default_factory=list)


class QtMarkdownRenderer:
    """Renders Markdown answers for the chat view.

    Args:
        dark: Use the dark code colours.
    """

    def __init__(self, dark: bool = False) -> None:
        self.dark = dark

    @cached_property
    def _md(self) -> MarkdownIt:
        from markdown_it import MarkdownIt  # at the first render (see the module's docstring)

        md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

        # markdown-it binds a render rule to its renderer as ``self``, so pass a plain function.
        def fence(_renderer: Any, tokens: Any, idx: int, _options: Any, env: dict[str, Any]) -> str:
            return self._fence(tokens, idx, env)

        md.add_render_rule("fence", fence)
        md.add_render_rule("code_block", fence)
        return md

    def render(self, text: str, first_index: int = 0) -> RenderedMarkdown:
        """Render ``text``; copy links are numbered from ``first_index``."""
        env: dict[str, Any] = {"blocks": [], "first": first_index}
        body = self._md.render(text, env)
        return RenderedMarkdown(html=body, code_blocks=list(env["blocks"]))

    def _fence(self, tokens: Any, idx: int, env: dict[str, Any]) -> str:
        token = tokens[idx]
        code: str = token.content
        lang = (token.info or "").strip().split(" ")[0]
        index = env["first"] + len(env["blocks"])
        env["blocks"].append(code)
        return self.code_html(code, lang, index)

    def code_html(self, code: str, lang: str, index: int) -> str:
        """One highlighted block with a header naming the language, a Run link (Python) and Copy."""
        from pygments import highlight  # with the first code block (see the module's docstring)
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import TextLexer, get_lexer_by_name, guess_lexer
        from pygments.util import ClassNotFound

        try:
            lexer = get_lexer_by_name(lang) if lang else guess_lexer(code)
        except ClassNotFound:
            lexer = TextLexer()
        style = DARK_STYLE if self.dark else LIGHT_STYLE
        formatter = HtmlFormatter(noclasses=True, nowrap=True, style=style)
        spans = highlight(code.rstrip("\n"), lexer, formatter)
        bg = "#272822" if self.dark else "#f5f7f9"
        head_bg = "#3a3b35" if self.dark else "#e6eaee"
        fg = "#f8f8f2" if self.dark else "#1f2328"
        label = html.escape(lang or lexer.name.lower())
        run = (
            f'<a href="run:{index}" style="font-size:small;">&#9654; Run</a>&nbsp;&nbsp;&nbsp;'
            if is_python_lang(lang)
            else ""
        )
        return (
            f'<table width="100%" cellspacing="0" cellpadding="6" '
            f'style="background-color:{bg}; margin-top:4px; margin-bottom:8px;">'
            f'<tr><td style="background-color:{head_bg}; color:{fg};">'
            f'<span style="font-size:small;">{label}</span></td>'
            f'<td align="right" style="background-color:{head_bg};">'
            f'{run}<a href="copy:{index}" style="font-size:small;">Copy</a></td></tr>'
            f'<tr><td colspan="2"><pre style="color:{fg}; font-family:monospace;">{spans}</pre>'
            f"</td></tr></table>"
        )


def warm_up(_cancel: object = None) -> None:
    """Compile the Python lexer's patterns once, in a worker thread at start-up: on first use
    Pygments compiles them (~80 ms), which would otherwise stall the first code answer."""
    QtMarkdownRenderer().render("```python\ndef f(x: int) -> int:\n    return x  # warm\n```\n")
