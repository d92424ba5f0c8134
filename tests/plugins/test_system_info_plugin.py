"""system_info answers what was asked, from the real status the app reports."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from plugin_harness import Harness


def app_status() -> dict[str, Any]:
    return {
        "version": "0.1.0",
        "network": False,
        "docker": {"available": False, "backend": "none", "image": "", "detail": "Docker engine not found"},
        "voice": {"available": True, "detail": "vosk-model-small-en-us-0.15"},
        "plugins": {
            "loaded": ["calculator", "system_info"],
            "failed": {"broken": "SyntaxError on line 3"},
            "disabled": ["web_scraper"],
        },
        "admin_unlocked": False,
        "data_dir": "/tmp/fame-data",
        "uptime_s": 3725.0,
    }


@pytest.fixture
def info(plugin: Callable[..., Harness]) -> Harness:
    return plugin("system_info", status=app_status)


async def test_time_question_answers_the_time_only(info: Harness) -> None:
    before = datetime.now().astimezone().strftime("%H:%M")
    result = await info.ask("what time is it", "system_info")
    after = datetime.now().astimezone().strftime("%H:%M")
    clock = re.search(r"\*\*(\d\d:\d\d)\*\*", result["response"])
    assert clock and clock.group(1) in {before, after}
    assert result["data"]["topics"] == ["time"]
    assert "Plugins" not in result["response"] and "Memory" not in result["response"]


@pytest.mark.parametrize(
    "text", ["what's the date today", "which day of the week is it", "what is today's date"]
)
async def test_date_questions_give_weekday_and_date(info: Harness, text: str) -> None:
    now = datetime.now().astimezone()
    result = await info.ask(text, "system_info")
    assert result["data"]["topics"] == ["date"]
    assert now.strftime("%A") in result["response"]
    assert f"{now.day} {now.strftime('%B %Y')}" in result["response"]


async def test_status_gives_the_overview(info: Harness) -> None:
    result = await info.ask("show system status", "system_info")
    text = result["response"]
    assert text.startswith("**FAME status**")
    for fragment in [
        "version **0.1.0**",
        "Sandbox: **not available** — Docker engine not found",
        "Network: **off**",
        "Voice: **available** — vosk-model-small-en-us-0.15",
        "**2 loaded** (calculator, system_info)",
        "**1 failed** (broken: SyntaxError on line 3)",
        "disabled: web_scraper",
        "running for **1 h 2 min**",
        "Admin: locked.",
    ]:
        assert fragment in text, fragment


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("is docker running", ["docker"]),
        ("is the sandbox available", ["docker"]),
        ("is the network enabled", ["network"]),
        ("is voice recognition available", ["voice"]),
        ("which plugins are loaded", ["plugins"]),
        ("are any plugins failing", ["plugins"]),
        ("what version are you", ["version"]),
        ("how long have you been running", ["uptime"]),
        ("what's the uptime", ["uptime"]),
        ("what's the current time please", ["time"]),
    ],
)
async def test_each_question_gets_its_part(info: Harness, text: str, topics: list[str]) -> None:
    result = await info.ask(text, "system_info")
    assert result["data"]["topics"] == topics


def _mem_total_kb() -> int:
    found = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    assert found
    return int(found.group(1))


async def test_memory_is_read_from_proc(info: Harness) -> None:
    result = await info.ask("how much memory are you using", "system_info")
    mem = result["data"]["memory"]
    assert mem["system_total_mib"] == round(_mem_total_kb() / 1024, 1)
    assert 10 < mem["process_rss_mib"] < mem["system_total_mib"]
    assert f"FAME uses **{mem['process_rss_mib']:.0f} MiB**" in result["response"]


async def test_missing_status_keys_fall_back_to_settings_and_plugin_list(
    plugin: Callable[..., Harness],
) -> None:
    listing = [
        {"name": "calculator", "status": "loaded", "error": None},
        {"name": "bad", "status": "failed", "error": "ImportError: no module named nope"},
    ]
    h = plugin("system_info", status=dict, list_plugins=lambda: listing)
    h.settings(network__allow_network=True)
    text = (await h.ask("status", "system_info"))["response"]
    assert "Network: **on**" in text
    assert "**1 loaded** (calculator)" in text
    assert "bad: ImportError: no module named nope" in text
    assert "Sandbox: **not available**" in text
