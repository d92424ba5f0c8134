"""Redaction quality on a labelled set: recall on secrets, false positives on harmless look-alikes.

The set (benchmarks/data/redaction_set.jsonl) holds queries carrying keys of many providers,
passwords in prose, card and phone numbers, e-mails, PEM blocks and URL credentials, each with the
exact secret substrings, and as many harmless queries that look alike. A secret counts as found
when no 8-character piece of it survives redaction; a harmless query is a false positive when
redaction changes it. With ``--end-to-end`` every query is also asked of a real Brain over a temp
data dir, and every file there is searched byte by byte for every secret afterwards (secrets
shorter than 8 characters, such as a PIN, as whole words in the audit rows).

The baseline is the redactor of the git revision ``--baseline-rev`` (default 07ca047, the one
before this benchmark existed), measured on the same set in the same run.

Speed: microseconds per text for clean text (queries, intents, actors and summaries as the audit
stores them), the labelled set's harmless look-alikes and its texts carrying secrets, against the
redactor of ``--speed-baseline-rev`` (default 9572337, before the screen and per-detector gates),
both in this run. Every text is made unique so the memo of short strings never answers.

Usage: .venv/bin/python benchmarks/bench_redaction.py [--end-to-end] [--baseline-rev 07ca047]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

from fame_desktop.orchestrator import redaction

DATA = Path(__file__).with_name("data") / "redaction_set.jsonl"
GOAL_RECALL, GOAL_FP = 0.99, 0.02


def load_set() -> list[dict[str, object]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def pieces(secret: str, width: int = 8) -> list[str]:
    """Every ``width``-character piece of ``secret`` (the whole secret if shorter)."""
    if len(secret) <= width:
        return [secret]
    return [secret[i : i + width] for i in range(len(secret) - width + 1)]


def leaked(secret: str, text: str) -> bool:
    return any(p in text for p in pieces(secret))


def score(redact: Callable[[str], str], items: list[dict[str, object]]) -> dict[str, object]:
    secrets_total = secrets_found = harmless = false_pos = 0
    misses: list[str] = []
    fps: list[str] = []
    t0 = time.perf_counter()
    for item in items:
        text = str(item["text"])
        out = redact(text)
        secrets = [str(s) for s in item["secrets"]]  # type: ignore[attr-defined]
        if secrets:
            for secret in secrets:
                secrets_total += 1
                if leaked(secret, out):
                    misses.append(f"{item['category']}: {secret[:24]}")
                else:
                    secrets_found += 1
        else:
            harmless += 1
            if out != text:
                false_pos += 1
                fps.append(f"{text!r} -> {out!r}")
    elapsed = time.perf_counter() - t0
    return {
        "recall": secrets_found / secrets_total,
        "fp_rate": false_pos / harmless,
        "secrets": secrets_total,
        "harmless": harmless,
        "us_per_query": elapsed / len(items) * 1e6,
        "misses": misses,
        "false_positives": fps,
    }


def baseline_redactor(rev: str) -> Callable[[str], str] | None:
    """``redact_text`` as of git revision ``rev`` (None when git or the file is unavailable)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{rev}:fame_desktop/orchestrator/redaction.py"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("baseline_redaction")
    exec(compile(source, f"{rev}:redaction.py", "exec"), module.__dict__)
    fn = module.__dict__.get("redact_text")
    return fn if callable(fn) else None


# Typical clean audit text: query texts, intents, actors, summaries, paths (no secret, no 7 digits).
CLEAN = [
    "Write a Python function to reverse a string",
    "generate_code",
    "api:3f9a2c71",
    "query answered by the calculator",
    "what is 12 * 12",
    "open the settings and turn on dark mode",
    "ui:alice",
    "/home/alice/projects/fame/notes.md",
    "Explain recursion with an example in Python, please",
    "plugin weather loaded in 12 ms",
]


def speed(redact: Callable[[str], str], texts: list[str], repeats: int = 5, per_run: int = 4000) -> float:
    """Fewest CPU microseconds per call over ``repeats`` runs; no text is ever seen twice.

    CPU time of this process, not wall time, and the best run: on a shared machine other work only
    ever adds to a run, so the best one is the closest to the cost itself.
    """
    runs = []
    for r in range(repeats):
        # " (v1234)": a letter keeps the counter from joining other digits into a phone number.
        unique = [f"{texts[i % len(texts)]} (v{r * per_run + i})" for i in range(per_run)]
        t0 = time.process_time()
        for text in unique:
            redact(text)
        runs.append((time.process_time() - t0) / per_run * 1e6)
    return min(runs)


def print_speed(items: list[dict[str, object]], rev: str) -> None:
    """Per-text cost of today's redactor and the one of ``rev`` on clean, look-alike and secret text."""
    base = baseline_redactor(rev)
    look_alikes = [str(i["text"]) for i in items if not i["secrets"]]
    dirty = [str(i["text"]) for i in items if i["secrets"]]
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} (figures inflate with it; ratios hold better)")
    print(f"{'CPU us per text':36} {'today':>8} {'base ' + rev:>13} {'ratio':>8}")
    figures: dict[str, float] = {}
    for label, texts in (("clean text (goal <= 5 us)", CLEAN), ("harmless look-alikes", look_alikes),
                         ("texts carrying secrets", dirty)):  # fmt: skip
        now = figures[label] = speed(redaction.redact_text, texts)
        old = speed(base, texts) if base is not None else 0.0
        ratio = f"{old / now:7.1f}x" if base is not None else "    n/a"
        print(f"{label:36} {now:8.1f} {old:13.1f} {ratio}")
    clean_now = figures["clean text (goal <= 5 us)"]
    print(f"clean text goal <= 5 us: {'MET' if clean_now <= 5 else 'MISSES'} ({clean_now:.1f} us)")


async def end_to_end(items: list[dict[str, object]]) -> tuple[int, int, list[str]]:
    """Ask a real Brain every query; returns (secrets, secrets found on disk, where)."""
    from fame_desktop.app import build_app

    with tempfile.TemporaryDirectory(prefix="fame-bench-redact-") as tmp:
        data_dir = Path(tmp) / "data"
        app = build_app(data_dir)
        await app.brain.start()
        echoed: list[str] = []
        try:
            for item in items:
                response = await app.brain.handle_query({"text": str(item["text"])})
                for secret in item["secrets"]:  # type: ignore[attr-defined]
                    if leaked(str(secret), str(response["response"])):
                        echoed.append(f"answer echoes {item['category']}")
            rows = json.dumps([e.to_dict() for e in app.audit.query(limit=100_000)])
        finally:
            await app.aclose()
        blobs = [(p, p.read_bytes()) for p in data_dir.rglob("*") if p.is_file()]
        secrets = [str(s) for item in items for s in item["secrets"]]  # type: ignore[attr-defined]
        # A secret of 8+ characters is searched byte by byte in every file; a 4-digit PIN would
        # turn up by chance inside hashes, so short ones are searched as words in the audit rows.
        found = [
            f"{p.relative_to(data_dir)}: {s[:16]}"
            for s in secrets
            if len(s) >= 8
            for p, blob in blobs
            if s.encode() in blob
        ]
        found += [
            f"audit rows: {s}"
            for s in secrets
            if len(s) < 8 and re.search(rf"(?<![0-9A-Za-z]){re.escape(s)}(?![0-9A-Za-z])", rows)
        ]
        return len(secrets), len(found), found + echoed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--end-to-end", action="store_true", help="Also run the queries through a real Brain."
    )
    parser.add_argument("--baseline-rev", default="07ca047", help="Git revision of the baseline redactor.")
    parser.add_argument(
        "--speed-baseline-rev", default="9572337", help="Git revision of the redactor to compare speed with."
    )
    args = parser.parse_args()
    items = load_set()
    result = score(redaction.redact_text, items)
    print(
        f"queries: {len(items)} count ({result['secrets']} secrets, {result['harmless']} harmless look-alikes)"
    )
    print(f"categories: {len({str(i['category']) for i in items})} count")
    recall, fp = float(result["recall"]), float(result["fp_rate"])  # type: ignore[arg-type]
    print(f"recall: {recall:.1%} ({'meets' if recall >= GOAL_RECALL else 'MISSES'} goal >= 99%)")
    print(f"false_positive_rate: {fp:.1%} ({'meets' if fp <= GOAL_FP else 'MISSES'} goal <= 2%)")
    print(f"time_per_query: {float(result['us_per_query']):.1f} us")  # type: ignore[arg-type]
    for miss in result["misses"]:  # type: ignore[attr-defined]
        print(f"  missed: {miss}")
    for fp_text in result["false_positives"]:  # type: ignore[attr-defined]
        print(f"  false positive: {fp_text}")
    base = baseline_redactor(args.baseline_rev)
    if base is not None:
        b = score(base, items)
        print(f"baseline_{args.baseline_rev}_recall: {float(b['recall']):.1%}")  # type: ignore[arg-type]
        print(f"baseline_{args.baseline_rev}_false_positive_rate: {float(b['fp_rate']):.1%}")  # type: ignore[arg-type]
    print_speed(items, args.speed_baseline_rev)
    ok = recall >= GOAL_RECALL and fp <= GOAL_FP
    if args.end_to_end:
        total, on_disk, where = asyncio.run(end_to_end(items))
        print(f"end_to_end_secrets_on_disk: {on_disk} of {total} count (goal 0)")
        echoes = [w for w in where if w.startswith("answer echoes")]
        print(f"end_to_end_answers_echoing_a_secret: {len(echoes)} count (goal 0)")
        for w in where[:10]:
            print(f"  {w}")
        ok = ok and not where
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
