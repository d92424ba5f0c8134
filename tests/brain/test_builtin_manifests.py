"""A built-in plugin's manifest read from its PLUGIN statement is the one the whole file gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fame_desktop.orchestrator.builtin_manifests import read_builtin_manifest
from fame_desktop.orchestrator.paths import builtin_plugin_dir
from fame_plugin_api import ManifestError, read_manifest

BUILTINS = sorted(p for p in builtin_plugin_dir().glob("*.py") if not p.name.startswith("_"))
MANIFEST = 'PLUGIN = {\n    "name": "%s",\n    "version": "1.0",\n    "description": "A test.",\n    "intents": {"chat": ["hi"]},\n}\n'


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.stem)
def test_every_built_in_reads_the_same_as_the_whole_file(path: Path) -> None:
    assert read_builtin_manifest(path) == read_manifest(path)


def test_a_plugin_statement_inside_a_docstring_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "doc.py"
    path.write_text(
        '"""Example:\n\n'
        + MANIFEST % "wrong"
        + '"""\n\n'
        + MANIFEST % "right"
        + "def handle(r):\n    return {}\n"
    )
    assert read_builtin_manifest(path).name == "right" == read_manifest(path).name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("def handle(r):\n    return {}\n", "no module-level PLUGIN manifest"),
        ("PLUGIN = dict(name='x')\n", "must be a literal dict"),
        ('PLUGIN = {"name": "Bad Name!", "version": "x"}\n', "'name' must be a lower_snake_case string"),
        (MANIFEST % "ok" + "def handle(request:\n", None),  # the rest of the file is not parsed here
    ],
)
def test_problems_read_as_the_whole_file_reports_them(tmp_path: Path, body: str, message: str | None) -> None:
    path = tmp_path / "plugin.py"
    path.write_text(body)
    if message is None:
        assert read_builtin_manifest(path).name == "ok"  # its syntax error shows at import
        return
    with pytest.raises(ManifestError, match=message) as fast:
        read_builtin_manifest(path)
    with pytest.raises(ManifestError) as whole:
        read_manifest(path)
    # The same message (the whole parse names an AST node by its address: not compared).
    assert re.sub("0x[0-9a-f]+", "", str(fast.value)) == re.sub("0x[0-9a-f]+", "", str(whole.value))
