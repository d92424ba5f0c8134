"""Secrets never land on disk: the issue's attack strings, the labelled set, answers and the CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fame_cli import run_fame

from fame_desktop.app import App
from fame_desktop.orchestrator.redaction import redact, redact_text, scrub_echo

SET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "redaction_set.jsonl"
AWS_SECRET = "q8Zr1T/vfK2mWc9YpLx4Hb7sNd0Ue3GjAo6iRy5E"
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0"
# (query, the secret it carries): the findings of issue 14, item 5.
ATTACKS = [
    ("my password is hunter2xyz", "hunter2xyz"),
    (f"aws secret access key {AWS_SECRET}", AWS_SECRET),
    (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET),
    (f"here is my key -----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n", PEM_BODY),
    ("pwd hunter3abc", "hunter3abc"),
    ("use http://alice:Pa55w0rdLLM@llm.example:8080/v1 for the model", "Pa55w0rdLLM"),
]


def _items() -> list[dict[str, object]]:
    return [json.loads(line) for line in SET.read_text().splitlines() if line.strip()]


def _files(data_dir: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in data_dir.rglob("*") if p.is_file()]


@pytest.mark.parametrize(("text", "secret"), ATTACKS)
def test_each_listed_secret_is_redacted(text: str, secret: str) -> None:
    out = redact_text(text)
    assert secret not in out and "[REDACTED:" in out
    assert secret[:12] not in out  # not even a prefix


@pytest.mark.parametrize(
    "text",
    [
        "how do I reset my password?",
        "the password is too short",
        "pwd command in linux",
        "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
        "what is 2 ** 50",
        "ISBN 978-3-16-148410-0",
        "http://127.0.0.1:11434/v1",
    ],
)
def test_harmless_look_alikes_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_labelled_set_meets_recall_and_false_positive_goals() -> None:
    items = _items()
    secrets = [(str(i["text"]), str(s)) for i in items for s in i["secrets"]]  # type: ignore[attr-defined]
    harmless = [str(i["text"]) for i in items if not i["secrets"]]
    assert len(items) >= 60 and len(harmless) >= len(secrets) - 10
    missed = [s for text, s in secrets if s in redact_text(text)]
    changed = [t for t in harmless if redact_text(t) != t]
    assert len(missed) / len(secrets) <= 0.01, missed
    assert len(changed) / len(harmless) <= 0.02, changed


def test_secret_looking_fields_and_nested_values() -> None:
    out = redact({"AWS_SECRET_ACCESS_KEY": AWS_SECRET, "data": [{"note": "pwd hunter3abc"}]})
    assert AWS_SECRET not in json.dumps(out) and "hunter3abc" not in json.dumps(out)


def test_an_answer_quoting_the_question_shows_no_part_of_the_key() -> None:
    query = f"here is my key -----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n"
    answer = f"I'm not sure what you mean by “{query.strip()[:80]}” — try help. 2 ** 50 = 1125899906842624"
    out = scrub_echo(query, answer)
    assert PEM_BODY[:20] not in out
    assert "7946" not in scrub_echo("my number is (020) 7946 0958", "cannot read `my (020)*7946 0958`")
    assert "hunter2xyz" not in scrub_echo("pwd HUNTER2XYZ", "cannot read `pwd hunter2xyz`").lower()
    assert "1125899906842624" in out and "try help" in out


async def test_no_secret_of_the_labelled_set_reaches_the_data_dir_or_the_answer(app: App) -> None:
    items = _items()
    for item in items:
        response = await app.brain.handle_query({"text": str(item["text"])})
        for secret in item["secrets"]:  # type: ignore[attr-defined]
            assert str(secret)[:10].lower() not in str(response["response"]).lower(), item["category"]
    rows = json.dumps([e.to_dict() for e in app.audit.query(limit=10_000)])
    app.services.audit.close()
    files = _files(app.paths.root)
    assert any(p.name.startswith("audit") for p, _ in files)
    for item in items:
        for secret in map(str, item["secrets"]):  # type: ignore[attr-defined]
            # Bounded: a 4-digit PIN occurs by chance inside hashes and timestamps.
            assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", rows), item[
                "category"
            ]
            if len(secret) >= 8:  # a 4-digit PIN turns up by chance in any binary file
                hits = [p.name for p, blob in files if secret.encode() in blob]
                assert not hits, (item["category"], secret, hits)


def test_the_real_cli_stores_none_of_the_listed_secrets(data_dir: Path) -> None:
    env = {**os.environ, "FAME_HOME": str(data_dir)}
    for text, secret in ATTACKS:
        done = run_fame("ask", "--json", text, env=env)
        assert done.returncode in (0, 1), done.stderr
        assert secret[:10] not in json.loads(done.stdout)["response"]
    shown = run_fame("audit", "--limit", "50", env=env)
    assert shown.returncode == 0 and "[REDACTED" in shown.stdout
    for path, blob in _files(data_dir):
        for _, secret in ATTACKS:
            assert secret.encode() not in blob, path
