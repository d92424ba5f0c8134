"""Train the shipped intent model on the built-in plugins and resources/routing/intent_examples.tsv.

Run after changing the examples or a built-in plugin's example phrases (a test fails until you do):
    .venv/bin/python scripts/train_intent_model.py
"""

from __future__ import annotations

from fame_desktop.orchestrator.intent_classifier import train
from fame_desktop.orchestrator.intent_training import shipped_model_file, training_set
from fame_desktop.orchestrator.paths import builtin_plugin_dir
from fame_plugin_api import read_manifest


def main() -> None:
    manifests = [read_manifest(p) for p in sorted(builtin_plugin_dir().glob("[!_]*.py"))]
    model = train(training_set(manifests))
    model.save(shipped_model_file())
    print(f"wrote {shipped_model_file()} ({model.feature_count} n-grams, fingerprint {model.fingerprint})")


if __name__ == "__main__":
    main()
