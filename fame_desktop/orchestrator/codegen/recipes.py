"""The built-in recipe library: tasks people ask for, each with reference code, tests and a benchmark.

A recipe is a folder under ``resources/recipes/<id>/``::

    recipe.toml    id, title, entry, explanation, bench, phrases, keywords
    solution.py    the reference implementation (defines ``entry``)
    tests.py       pytest-style ``def test_*():`` functions with plain asserts (no imports needed)
    alt_*.py       other correct implementations (some slower or bigger), seeds for evolution

Everything is checked when the library loads; a broken recipe is reported with its file.
"""

from __future__ import annotations

import ast
import logging
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fame_desktop.orchestrator.codegen.matching import Tokens, keyword_hits, phrase_score, phrase_words
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.paths import resource_root

log = logging.getLogger("fame.codegen")

#: The fields of ``recipe.toml``: name -> (type, required).
_FIELDS: dict[str, tuple[type, bool]] = {
    "id": (str, True),
    "title": (str, True),
    "entry": (str, True),
    "explanation": (str, True),
    "bench": (str, True),
    "phrases": (list, True),
    "keywords": (list, False),
}


class RecipeError(FameError):
    """One or more recipes are broken; the message names each file and what is wrong."""

    code = "recipe_error"


@dataclass(frozen=True)
class Alternative:
    """Another correct implementation of a recipe.

    Attributes:
        name: File stem (``alt_loop``).
        code: The source.
        note: First line of its module docstring (what makes it different).
    """

    name: str
    code: str
    note: str


@dataclass(frozen=True)
class Recipe:
    """A task the library can write and test offline.

    Attributes:
        id: Folder name, e.g. ``reverse_string``.
        title: What a person reads.
        entry: The function or class the code defines and the tests call.
        explanation: How the code works, in a sentence or two.
        code: The reference implementation.
        tests: ``def test_*():`` functions.
        bench: A statement timed by the harness (e.g. ``reverse_string('ab' * 5000)``).
        phrases: Requests that name this task (matched whole-word, in order).
        keywords: Words that make a match more likely (never enough on their own).
        alternatives: Other correct implementations.
        path: The recipe's folder.
    """

    id: str
    title: str
    entry: str
    explanation: str
    code: str
    tests: str
    bench: str
    phrases: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    path: Path = field(default=Path(), compare=False)

    @property
    def test_names(self) -> list[str]:
        """The test functions, in file order."""
        return test_names(self.tests)


def test_names(tests: str) -> list[str]:
    """Names of the top-level ``test_*`` functions in ``tests`` (empty when it does not parse)."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError):
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    ]


def _defines(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name
        for node in tree.body
    )


def _docstring_line(tree: ast.Module) -> str:
    doc = (ast.get_docstring(tree) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _read_recipe(folder: Path) -> Recipe:
    """Load and check one recipe folder.

    Raises:
        ValueError: Something is missing or wrong; the message names the file.
    """
    meta_path = folder / "recipe.toml"
    try:
        meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{meta_path}: missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{meta_path}: not valid TOML ({exc})") from exc
    for name, (kind, required) in _FIELDS.items():
        if name not in meta:
            if required:
                raise ValueError(f"{meta_path}: missing field '{name}'")
            continue
        if not isinstance(meta[name], kind):
            raise ValueError(f"{meta_path}: field '{name}' must be a {kind.__name__}")
    unknown = set(meta) - set(_FIELDS)
    if unknown:
        raise ValueError(f"{meta_path}: unknown field(s) {sorted(unknown)}")
    if meta["id"] != folder.name:
        raise ValueError(f"{meta_path}: id '{meta['id']}' differs from its folder name '{folder.name}'")
    if not meta["phrases"] or not all(isinstance(p, str) and phrase_words(p).words for p in meta["phrases"]):
        raise ValueError(f"{meta_path}: 'phrases' must be a non-empty list of non-empty strings")
    if not all(isinstance(k, str) and k.strip() for k in meta.get("keywords", [])):
        raise ValueError(f"{meta_path}: 'keywords' must be non-empty strings")
    try:
        compile(meta["bench"], f"{meta_path}:bench", "exec")
    except SyntaxError as exc:
        raise ValueError(f"{meta_path}: bench does not compile ({exc.msg})") from exc

    def source(path: Path, must_define: bool) -> tuple[str, ast.Module]:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ValueError(f"{path}: missing") from exc
        try:
            tree = ast.parse(text, str(path))  # parsed once, used for every check below
        except SyntaxError as exc:
            raise ValueError(f"{path}:{exc.lineno}: syntax error ({exc.msg})") from exc
        if must_define and not _defines(tree, meta["entry"]):
            raise ValueError(f"{path}: does not define the entry point '{meta['entry']}'")
        return text, tree

    code, _ = source(folder / "solution.py", True)
    tests, _ = source(folder / "tests.py", False)
    if not test_names(tests):
        raise ValueError(f"{folder / 'tests.py'}: defines no test_* function")
    alternatives = []
    for path in sorted(folder.glob("alt_*.py")):
        alt, tree = source(path, True)
        alternatives.append(Alternative(name=path.stem, code=alt, note=_docstring_line(tree)))
    return Recipe(
        id=meta["id"],
        title=meta["title"],
        entry=meta["entry"],
        explanation=meta["explanation"].strip(),
        code=code,
        tests=tests,
        bench=meta["bench"].strip(),
        phrases=tuple(meta["phrases"]),
        keywords=tuple(meta.get("keywords", [])),
        alternatives=tuple(alternatives),
        path=folder,
    )


class RecipeLibrary:
    """The recipes, by id, with whole-word matching of requests.

    Args:
        recipes: The loaded recipes.
        problems: Recipes that failed to load (file and reason), kept for status and logs.
    """

    def __init__(self, recipes: Sequence[Recipe], problems: Sequence[str] = ()) -> None:
        self._recipes = {r.id: r for r in recipes}
        self.problems = tuple(problems)
        # Matching data computed once: phrases and keywords as word tuples.
        self._index = {
            r.id: (
                [phrase_words(p) for p in r.phrases],
                [phrase_words(k) for k in r.keywords],
            )
            for r in recipes
        }

    @classmethod
    def load(cls, root: Path | None = None, *, strict: bool = True) -> RecipeLibrary:
        """Load every recipe folder under ``root`` (default ``resources/recipes``).

        Args:
            root: The folder holding one sub-folder per recipe.
            strict: Raise on any broken recipe (tests, CI); otherwise keep the good ones and
                record the broken ones in :attr:`problems` (logged as errors).

        Raises:
            RecipeError: The folder is missing, or (strict) a recipe is broken.
        """
        folder = root if root is not None else resource_root() / "recipes"
        if not folder.is_dir():
            raise RecipeError(
                f"The recipe library folder {folder} is missing.",
                "Reinstall the app; the recipes ship in resources/recipes.",
            )
        recipes: list[Recipe] = []
        problems: list[str] = []
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            if not any(f.is_file() for f in sub.iterdir()):
                continue  # an empty folder (git does not even keep it) is no recipe, broken or not
            try:
                recipes.append(_read_recipe(sub))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            for problem in problems:
                log.error("broken recipe: %s", problem)
            if strict:
                raise RecipeError(
                    f"{len(problems)} recipe(s) are broken: " + "; ".join(problems),
                    "Fix the named files.",
                )
        log.info("recipe library: %d recipes from %s", len(recipes), folder)
        return cls(recipes, problems)

    def get(self, recipe_id: str) -> Recipe | None:
        """The recipe with this id, or None."""
        return self._recipes.get(recipe_id)

    def all(self) -> list[Recipe]:
        """Every recipe, by id."""
        return sorted(self._recipes.values(), key=lambda r: r.id)

    def __len__(self) -> int:
        return len(self._recipes)

    def match(self, text: str) -> list[tuple[Recipe, float]]:
        """Recipes that ``text`` names, best first, with scores.

        A recipe's score is twice its best phrase match (words matched, less gap words) plus one
        per keyword present; recipes without a phrase match score their keywords only (suggestions).
        """
        tokens = Tokens.of(text)
        scored: list[tuple[Recipe, float]] = []
        for recipe in self._recipes.values():
            phrases, keywords = self._index[recipe.id]
            score = 2.0 * phrase_score(tokens, phrases) + keyword_hits(tokens, keywords)
            if score > 0:
                scored.append((recipe, score))
        scored.sort(key=lambda item: (-item[1], item[0].id))
        return scored

    def phrase_matched(self, recipe: Recipe, text: str) -> bool:
        """Whether one of ``recipe``'s phrases occurs in ``text`` (a confident match)."""
        return phrase_score(Tokens.of(text), self._index[recipe.id][0]) > 0
