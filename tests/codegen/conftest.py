"""Fixtures of the code generation tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fame_desktop.orchestrator.codegen import ArchitectureKB, RecipeLibrary

# The fake OpenAI-compatible server lives with the LLM tests; reuse it rather than copy it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))


@pytest.fixture(scope="session")
def library() -> RecipeLibrary:
    """The built-in recipe library (strict: any broken recipe fails the tests)."""
    return RecipeLibrary.load()


@pytest.fixture(scope="session")
def kb() -> ArchitectureKB:
    """The built-in architecture knowledge base."""
    return ArchitectureKB.load()
