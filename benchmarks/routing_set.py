"""Loads the labelled routing set and the router over the real built-in plugins' manifests."""

from __future__ import annotations

from pathlib import Path

from fame_desktop.orchestrator.paths import builtin_plugin_dir
from fame_desktop.orchestrator.routing import Router
from fame_plugin_api import PluginManifest, read_manifest

DATA = Path(__file__).resolve().parent / "data"


def labelled_queries(name: str = "routing_labelled.tsv") -> list[tuple[str, str]]:
    """(expected intent, query) pairs of a labelled set in ``benchmarks/data``."""
    pairs = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            intent, query = line.split("\t", 1)
            pairs.append((intent, query))
    return pairs


def builtin_manifests() -> list[PluginManifest]:
    """Every built-in plugin's manifest (read without importing)."""
    return [read_manifest(p) for p in sorted(builtin_plugin_dir().glob("*.py")) if not p.name.startswith("_")]


def builtin_router() -> Router:
    """The keyword router over every built-in plugin's manifest."""
    return Router(builtin_manifests())
