"""Every ``fame ...`` fix hint the app prints (and the README shows) is a command that works as written.

The hints are collected from the sources, not listed here, so a new hint is checked automatically.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from fame_cli import run_fame

from fame_desktop.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DUMMY_KEY = "dummy-admin-key"
# Placeholders the hints use, and a value each parses with (parse only: nothing runs).
PLACEHOLDERS = {
    "KEY": DUMMY_KEY,
    "FILE": "out.jsonl",
    "RUN_ID": "run-1",
    "RECIPE_ID": "reverse_string",
    "PATH": "network.allow_network",
    "VALUE": "true",
    "ID": "key-1",
    "TEXT": "hello",
    "{}": "value",
    "...": "hello",
}
# A formatted value in an f-string hint stands for one word; options with fixed choices need a real one.
CHOICE_VALUES = {"--intent": "calculate"}


def _subcommands() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("fame has no subcommands")


def _string_texts(tree: ast.AST) -> list[str]:
    """The string literals of a module, docstrings left out (they show synopses, not commands)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    texts: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            texts.append("".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values))
    return texts


def _hints_in(text: str, commands: str) -> list[str]:
    """``fame <subcommand> ...`` commands in ``text``: in backticks, or bare up to a bracket."""
    quoted = re.findall(rf"(?<!`)`(fame (?:{commands})\b[^`]*)`(?!`)", text)
    bare = re.findall(rf"(?<![`\w-])(fame (?:{commands})\b[^`()\n]*)", text)
    return [_clean(h) for h in quoted + bare]


def _clean(hint: str) -> str:
    hint = " ".join(hint.split()).rstrip(" ,;:")
    # A sentence's full stop is not part of the command; an ellipsis ("fame ask ...") is.
    return hint if hint.endswith("...") else hint.rstrip(" .")


# A string holding "fame " is written in the source as "fame" then a space, an escape (\n, \x20) or
# the quote that ends one piece of an implicit concatenation: only such modules are parsed.
MAY_HOLD_A_HINT = re.compile(r"\bfame(?=[\s\"'\\])")


def collect_hints() -> dict[str, str]:
    """Every hint, mapped to where it was found."""
    commands = "|".join(sorted(_subcommands()))
    found: dict[str, str] = {}
    sources = sorted([*(ROOT / "fame_desktop").rglob("*.py"), *(ROOT / "core").rglob("*.py")])
    for path in sources:
        source = path.read_text(encoding="utf-8")
        if not MAY_HOLD_A_HINT.search(source):
            continue  # parsing every module costs each test process seconds at collection
        for text in _string_texts(ast.parse(source)):
            for hint in _hints_in(text, commands):
                found.setdefault(hint, str(path.relative_to(ROOT)))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # The README's bash examples (its ```text block is a synopsis with [OPTIONS] and |) and its
    # inline code, which may wrap over a line.
    for block in re.findall(r"```bash\n(.*?)```", readme, flags=re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if re.match(rf"fame (?:{commands})\b", command):
                found.setdefault(command, "README.md")
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)
    for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", prose):
        if re.match(rf"\s*fame (?:{commands})\b", span):
            found.setdefault(_clean(span), "README.md")
    return found


def to_argv(hint: str) -> list[str]:
    """The hint's arguments after ``fame``, placeholders replaced by dummy values."""
    words = shlex.split(hint)
    assert words[0] == "fame"
    argv = [PLACEHOLDERS.get(w, w) for w in words[1:]]
    for i, word in enumerate(argv[:-1]):
        if word in CHOICE_VALUES and argv[i + 1] == PLACEHOLDERS["{}"]:
            argv[i + 1] = CHOICE_VALUES[word]
    return argv


HINTS = collect_hints()
# A command named in prose without its arguments ("the same object as `fame ask --json`") is a
# mention: it may lack a required argument, and is checked through a full hint that starts with it.
# "fame ask --intent ..." leaves its arguments out in the same way.
MENTIONS = {
    h for h in HINTS if any(other.startswith(h.removesuffix("...").rstrip() + " ") for other in HINTS)
}


def test_the_known_hints_are_collected() -> None:
    # The collector must find the hints issue 17 named (else the parse test below checks nothing).
    assert "fame admin network on --admin-key KEY" in HINTS
    assert "fame evolve approve {} --admin-key KEY" in HINTS
    assert "fame admin set capabilities.{} true --admin-key KEY" in HINTS
    assert "fame admin add --label api --admin-key KEY" in HINTS
    assert "fame sandbox prepare" in HINTS
    assert len(HINTS) >= 20, sorted(HINTS)


@pytest.mark.parametrize("hint", sorted(HINTS), ids=lambda h: h[:60])
def test_hint_parses(hint: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = to_argv(hint)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        if hint in MENTIONS:
            return
        if "--help" in argv and exc.code == 0:
            # A help hint ("fame ask --help") works when argparse prints that command's help.
            assert f"usage: fame {argv[0]}" in capsys.readouterr().out, hint
            return
        pytest.fail(
            f"{hint!r} (from {HINTS[hint]}) does not parse: {capsys.readouterr().err.strip()} ({exc})"
        )
    assert args.command == argv[0]
    if "--admin-key" in argv:
        assert args.admin_key == DUMMY_KEY, hint


def test_global_options_before_or_after_the_subcommand(tmp_path: Path) -> None:
    parser = build_parser()
    after = parser.parse_args(
        ["admin", "network", "on", "--admin-key", "A", "--data-dir", str(tmp_path), "-v"]
    )
    before = parser.parse_args(
        ["--admin-key", "A", "--data-dir", str(tmp_path), "-v", "admin", "network", "on"]
    )
    middle = parser.parse_args(
        ["admin", "--admin-key", "A", "network", "-v", "--data-dir", str(tmp_path), "on"]
    )
    for args in (after, before, middle):
        assert (args.admin_key, args.data_dir, args.verbose, args.state) == ("A", str(tmp_path), True, "on")
    # Given twice, the one after the subcommand wins; not given, the top level's default stays.
    assert parser.parse_args(["--admin-key", "A", "admin", "list", "--admin-key", "B"]).admin_key == "B"
    plain = parser.parse_args(["admin", "list"])
    assert (plain.admin_key, plain.data_dir, plain.verbose) == (None, None, False)
    # A subcommand's own --json still works on either side of its action.
    assert parser.parse_args(["evolve", "--json", "history"]).json is True
    assert parser.parse_args(["evolve", "history", "--json"]).json is True


def _fame(*args: str) -> subprocess.CompletedProcess[str]:
    return run_fame(*args)


def test_hints_run_as_written(data_dir: Path) -> None:
    # The README's path for a new user, with the options where the hints put them.
    d = str(data_dir)
    before = _fame("ask", "--json", "What is BTC price today?", "--data-dir", d)
    assert json.loads(before.stdout)["error"]["code"] == "network_disabled"
    assert "fame admin network on --admin-key KEY" in before.stdout + before.stderr
    init = _fame("admin", "init", "--data-dir", d)
    assert init.returncode == 0, init.stderr
    key = init.stdout.split("\n\n")[1].strip()
    on = _fame("admin", "network", "on", "--admin-key", key, "--data-dir", d)
    assert on.returncode == 0, on.stderr
    shown = _fame("admin", "settings", "--json", "--data-dir", d)
    assert json.loads(shown.stdout)["network"]["allow_network"] is True
    after = _fame("ask", "--json", "What is BTC price today?", "--data-dir", d)
    error = json.loads(after.stdout).get("error") or {}
    assert error.get("code") != "network_disabled", after.stdout
    # A wrong key after the subcommand is used (and refused), not ignored.
    off = _fame("admin", "network", "off", "--admin-key", "wrong", "--data-dir", d)
    assert off.returncode != 0
    assert json.loads(_fame("admin", "settings", "--json", "--data-dir", d).stdout)["network"][
        "allow_network"
    ]
