"""The recipe library: it loads, every implementation passes its own tests, broken recipes are named."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from codegen_harness import check

from fame_desktop.orchestrator.codegen import RecipeError, RecipeLibrary
from fame_desktop.orchestrator.codegen.recipes import Recipe

LIBRARY = RecipeLibrary.load()
IMPLEMENTATIONS = [(r, "solution", r.code) for r in LIBRARY.all()] + [
    (r, alt.name, alt.code) for r in LIBRARY.all() for alt in r.alternatives
]


def test_library_is_broad_and_complete(library: RecipeLibrary) -> None:
    assert len(library) >= 25
    assert library.problems == ()
    for wanted in ("reverse_string", "binary_search", "is_prime", "lru_cache", "dijkstra", "roman_numerals"):
        assert library.get(wanted) is not None, wanted
    for recipe in library.all():
        assert recipe.title and recipe.explanation and recipe.bench
        assert len(recipe.test_names) >= 3, recipe.id
        assert 1 <= len(recipe.alternatives) <= 3, recipe.id
        assert all(alt.code != recipe.code for alt in recipe.alternatives)
    assert library.get("no_such_recipe") is None


@pytest.mark.parametrize(
    ("recipe", "name", "code"), IMPLEMENTATIONS, ids=[f"{r.id}-{name}" for r, name, _ in IMPLEMENTATIONS]
)
def test_every_implementation_passes_its_recipes_tests(recipe: Recipe, name: str, code: str) -> None:
    summary = check(code, recipe.tests)
    assert summary is not None, f"{recipe.id}/{name}: no genuine summary"
    assert summary.all_passed, [str(f) + "\n" + f.traceback for f in summary.failures]
    assert summary.passed == len(recipe.test_names)


def test_tests_catch_a_wrong_implementation(library: RecipeLibrary) -> None:
    # A recipe's tests are worth something only if they reject code that does something else.
    for recipe in library.all():
        wrong = f"def {recipe.entry}(*args, **kwargs):\n    return None\n"
        if recipe.entry[0].isupper():
            wrong = f"class {recipe.entry}:\n    def __init__(self, *a):\n        pass\n"
        code = recipe.code + "\n\n" + wrong  # same name, defined last, so it wins
        summary = check(code, recipe.tests)
        assert summary is not None and summary.failed > 0, recipe.id


@pytest.mark.slow
def test_every_benchmark_runs_and_stays_within_budget() -> None:
    def bench(item: tuple[Recipe, str, str]) -> tuple[str, int | None, int]:
        recipe, name, code = item
        summary = check(code, recipe.tests, bench=recipe.bench, timeout=60)
        assert summary is not None and summary.all_passed, f"{recipe.id}/{name}"
        return f"{recipe.id}/{name}", summary.bench_ns, summary.bench_runs

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(bench, IMPLEMENTATIONS))
    for label, ns, runs in results:
        assert ns is not None and ns > 0 and runs >= 3, label
        # Evolution runs every candidate's benchmark a few times: keep each well under a second.
        assert ns < 800_000_000, (label, ns)


def _copy_recipe(src: Path, dst_root: Path, name: str) -> Path:
    dst = dst_root / name
    shutil.copytree(src, dst)
    meta = dst / "recipe.toml"
    meta.write_text(meta.read_text().replace(f'id = "{src.name}"', f'id = "{name}"'))
    return dst


def test_broken_recipes_are_reported_with_their_file(tmp_path: Path, library: RecipeLibrary) -> None:
    source = library.get("factorial")
    assert source is not None
    good = _copy_recipe(source.path, tmp_path, "good")
    no_entry = _copy_recipe(source.path, tmp_path, "no_entry")
    (no_entry / "solution.py").write_text("def something_else():\n    return 1\n")
    bad_syntax = _copy_recipe(source.path, tmp_path, "bad_syntax")
    (bad_syntax / "alt_math.py").write_text("def factorial(n)\n    return 1\n")
    bad_toml = _copy_recipe(source.path, tmp_path, "bad_toml")
    (bad_toml / "recipe.toml").write_text('id = "bad_toml"\ntitle = \n')
    no_tests = _copy_recipe(source.path, tmp_path, "no_tests")
    (no_tests / "tests.py").write_text("def check():\n    assert True\n")
    wrong_id = _copy_recipe(source.path, tmp_path, "wrong_id")
    (wrong_id / "recipe.toml").write_text(
        (wrong_id / "recipe.toml").read_text().replace('"wrong_id"', '"other"')
    )

    with pytest.raises(RecipeError) as info:
        RecipeLibrary.load(tmp_path)
    message = info.value.message
    assert "5 recipe(s) are broken" in message
    assert f"{no_entry / 'solution.py'}: does not define the entry point 'factorial'" in message
    assert f"{bad_syntax / 'alt_math.py'}:1: syntax error" in message
    assert f"{bad_toml / 'recipe.toml'}: not valid TOML" in message
    assert f"{no_tests / 'tests.py'}: defines no test_* function" in message
    assert "differs from its folder name 'wrong_id'" in message

    lenient = RecipeLibrary.load(tmp_path, strict=False)
    assert [r.id for r in lenient.all()] == ["good"]
    assert len(lenient.problems) == 5
    assert lenient.get("good") is not None and lenient.get("good").path == good  # type: ignore[union-attr]


def test_missing_library_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecipeError) as info:
        RecipeLibrary.load(tmp_path / "nowhere")
    assert "is missing" in info.value.message
