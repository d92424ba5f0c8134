"""Routing accuracy and speed: the learned router against the keyword router, in the same run.

Prints, for both routers: k-fold cross-validated accuracy on the labelled training set (the
learned router is retrained on each fold's other folds; the keyword router was tuned by hand on
part of this set, so its figure there is optimistic), accuracy on the held-out sets (written
separately, never trained on: ``holdout`` and ``holdout_2``, the second written from the INTENTS
table only, without seeing the training examples), per-intent precision and recall, the confusion matrix, how often
the learned router would ask instead of answering, how many queries a configured language model
would be asked to route (only uncertain ones), and latency per query.

Run: .venv/bin/python benchmarks/bench_routing.py [--folds K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from routing_set import builtin_manifests, builtin_router, labelled_queries

from fame_desktop.orchestrator.intent_classifier import Example, train
from fame_desktop.orchestrator.intent_training import examples_file, read_examples, training_set
from fame_desktop.orchestrator.routing import Route, Router

Pairs = Sequence[tuple[str, str]]


def cross_validated(examples: Sequence[Example], folds: int) -> list[tuple[str, Route]]:
    """(expected, route) for every labelled example, routed by a model that never saw it."""
    manifests = builtin_manifests()
    phrases = [ex for ex in training_set(manifests) if ex not in examples]
    out: list[tuple[str, Route]] = []
    for fold in range(folds):
        train_part = [ex for i, ex in enumerate(examples) if i % folds != fold]
        router = Router(manifests, train(train_part + phrases))
        out.extend((ex.intent, router.route(ex.text)) for i, ex in enumerate(examples) if i % folds == fold)
    return out


def report(name: str, results: Sequence[tuple[str, Route]]) -> None:
    """Accuracy, per-intent precision/recall and the confusion matrix of ``results``."""
    right = sum(want == route.intent for want, route in results)
    print(f"{name}.accuracy: {right / len(results) * 100:.1f} % ({right}/{len(results)})")
    # Only these (the chat fallback when no intent is likely) are offered to a configured language
    # model; every other route is the same with or without one.
    unsure = [(want, route) for want, route in results if route.uncertain]
    unsure_right = sum(want == route.intent for want, route in unsure)
    print(
        f"{name}.would_consult_model: {len(unsure)} of {len(results)} queries "
        f"(the chat fallback is right for {unsure_right} of them)"
    )
    asked = [(want, route) for want, route in results if route.ambiguous]
    if asked:
        in_options = sum(want in route.alternatives for want, route in asked)
        print(
            f"{name}.would_ask: {len(asked) / len(results) * 100:.1f} % of queries "
            f"(the right intent among the two options in {in_options}/{len(asked)})"
        )
        answered = [(w, r) for w, r in results if not r.ambiguous]
        ok = sum(w == r.intent for w, r in answered)
        print(f"{name}.accuracy_when_not_asking: {ok / max(1, len(answered)) * 100:.1f} %")


def per_intent(name: str, results: Sequence[tuple[str, Route]]) -> None:
    """Precision, recall and the confusion matrix (rows: expected, columns: routed)."""
    intents = sorted({w for w, _ in results} | {r.intent for _, r in results})
    pairs = Counter((want, route.intent) for want, route in results)
    print(f"{name}.per_intent:        intent  precision  recall")
    for intent in intents:
        tp = pairs[(intent, intent)]
        routed = sum(v for (w, g), v in pairs.items() if g == intent)
        actual = sum(v for (w, g), v in pairs.items() if w == intent)
        print(
            f"  {intent:>20}  {tp / routed * 100 if routed else 0:8.1f} %  {tp / actual * 100 if actual else 0:5.1f} %"
        )
    short = [i[:6] for i in intents]
    print(f"{name}.confusion (rows expected, columns routed):")
    print("  " + " " * 20 + " ".join(f"{s:>6}" for s in short))
    for want in intents:
        print(f"  {want:>20}" + " ".join(f"{pairs[(want, got)]:>6}" for got in intents))


def latency_ms(route: Callable[[str], Route], queries: Sequence[str], rounds: int = 15) -> float:
    """Median milliseconds per routing decision over ``rounds`` passes."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for q in queries:
            route(q)
        samples.append((time.perf_counter() - start) / len(queries) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    examples = read_examples(examples_file())
    holdout: Pairs = labelled_queries("routing_holdout.tsv")
    holdout_2: Pairs = labelled_queries("routing_holdout_2.tsv")
    keyword = builtin_router()
    manifests = builtin_manifests()
    start = time.perf_counter()
    learned = Router(manifests, train(training_set(manifests)))
    train_s = time.perf_counter() - start
    print(f"routing.training_examples: {len(examples)} labelled + plugin phrases, trained in {train_s:.2f} s")
    print(f"routing.holdout_queries: {len(holdout)}")
    print(f"routing.holdout_2_queries: {len(holdout_2)}")

    kw_cv = [(ex.intent, keyword.route(ex.text)) for ex in examples]
    report("keyword.labelled_set", kw_cv)
    report("keyword.holdout", [(w, keyword.route(q)) for w, q in holdout])
    keyword_holdout_2 = [(w, keyword.route(q)) for w, q in holdout_2]
    report("keyword.holdout_2", keyword_holdout_2)
    learned_cv = cross_validated(examples, args.folds)
    report(f"learned.labelled_set_{args.folds}fold", learned_cv)
    learned_holdout = [(w, learned.route(q)) for w, q in holdout]
    report("learned.holdout", learned_holdout)
    learned_holdout_2 = [(w, learned.route(q)) for w, q in holdout_2]
    report("learned.holdout_2", learned_holdout_2)
    per_intent(f"learned.labelled_set_{args.folds}fold", learned_cv)
    per_intent("learned.holdout", learned_holdout)
    per_intent("keyword.holdout_2", keyword_holdout_2)
    per_intent("learned.holdout_2", learned_holdout_2)
    queries = [q for _, q in holdout] + [ex.text for ex in examples]
    kw_ms = latency_ms(keyword.route, queries)
    learned_ms = latency_ms(learned.route, queries)
    print(f"keyword.median_ms_per_query: {kw_ms:.3f} ms")
    print(f"learned.median_ms_per_query: {learned_ms:.3f} ms ({learned_ms / kw_ms:.1f}x keyword)")
    for want, route in learned_holdout:
        if want != route.intent:
            print(f"learned.holdout_miss: expected {want}, got {route.intent} ({route.confidence:.2f})")
    for (want, route), (_, query) in zip(learned_holdout_2, holdout_2, strict=True):
        if want != route.intent:
            print(
                f"learned.holdout_2_miss: expected {want}, got {route.intent} ({route.confidence:.2f}): {query}"
            )


if __name__ == "__main__":
    main()
