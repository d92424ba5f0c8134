"""consciousness_engine: greetings, help from real plugin metadata, identity, small talk, honest fallback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plugin_harness import CORE, Harness

from fame_plugin_api import read_manifest


def listing() -> list[dict[str, Any]]:
    """What the plugin manager lists: every real core manifest, plus one plugin that failed."""
    out = []
    for path in sorted(CORE.glob("*.py")):
        if path.name.startswith("_"):
            continue
        out.append({**read_manifest(path).to_dict(), "status": "loaded", "error": None})
    out.append({"name": "broken_plugin", "status": "failed", "error": "SyntaxError on line 3"})
    return out


def status() -> dict[str, Any]:
    return {"version": "0.1.0", "plugins": {"loaded": [p["name"] for p in listing()][:-1], "failed": {}}}


@pytest.fixture
def chat(plugin: Callable[..., Harness]) -> Harness:
    return plugin("consciousness_engine", list_plugins=listing, status=status)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hello there", "greeting"),
        ("hi fame", "greeting"),
        ("hey, what's up", "greeting"),
        ("nice to meet you", "greeting"),
        ("thanks a lot", "thanks"),
        ("thank you so much, that was helpful", "thanks"),
        ("bye for now", "goodbye"),
        ("what can you do", "help"),
        ("help", "help"),
        ("how do I use you", "help"),
        ("what are your capabilities", "help"),
        ("who are you", "identity"),
        ("tell me about yourself", "identity"),
        ("how are you doing today", "how_are_you"),
        ("tell me a joke", "joke"),
        ("i'm bored", "bored"),
        ("you're awesome", "compliment"),
        ("flibbertigibbet quantum marmalade", "unknown"),
    ],
)
async def test_each_kind_of_chat_is_recognised(chat: Harness, text: str, kind: str) -> None:
    result = await chat.ask(text, "chat")
    assert result["data"]["kind"] == kind


async def test_help_is_built_from_the_plugins_metadata(chat: Harness) -> None:
    text = (await chat.ask("what can you do", "chat"))["response"]
    for entry in listing()[:-1]:
        if entry["name"] == "consciousness_engine":
            continue
        assert f"**{entry['name']}**" in text
        for intent, examples in entry["intents"].items():
            assert f"`{intent}`" in text
            if examples:  # code_runner's run_code is asked by the Run buttons, not in words
                assert examples[0] in text
    assert "needs the network, which is off" in text
    assert "dangerous: disabled until an admin enables it" in text
    assert "admin only" in text
    assert "broken_plugin (SyntaxError on line 3)" in text


async def test_help_notes_when_the_network_is_on(chat: Harness) -> None:
    chat.settings(network__allow_network=True)
    text = (await chat.ask("help", "chat"))["response"]
    assert "needs the network)" in text and "which is off" not in text


async def test_greeting_echoes_the_time_of_day_said(chat: Harness) -> None:
    assert (await chat.ask("good evening", "chat"))["response"].startswith("Good evening")


async def test_identity_names_fame_and_version(chat: Harness) -> None:
    text = (await chat.ask("who are you", "chat"))["response"]
    assert "**FAME** 0.1.0" in text


async def test_replies_vary_across_texts_but_repeat_for_the_same_text(chat: Harness) -> None:
    jokes = {(await chat.ask(t, "chat"))["response"] for t in ["tell me a joke", "a joke please", "joke!",
                                                                "say something funny", "another joke", "joke time"]}  # fmt: skip
    assert len(jokes) >= 3
    first = await chat.ask("tell me a joke", "chat")
    again = await chat.ask("tell me a joke", "chat")
    assert first["response"] == again["response"]


async def test_unknown_input_is_answered_honestly_with_suggestions(chat: Harness) -> None:
    result = await chat.ask("flibbertigibbet quantum marmalade", "chat")
    assert result["data"]["understood"] is False
    assert "I'm not sure what you mean" in result["response"]
    assert "“flibbertigibbet quantum marmalade”" in result["response"]
    assert "Write a Python function to reverse a string" in result["response"]


async def test_help_without_other_plugins_says_so(plugin: Callable[..., Harness]) -> None:
    h = plugin(
        "consciousness_engine", list_plugins=lambda: [{"name": "consciousness_engine", "status": "loaded"}]
    )
    text = (await h.ask("help", "chat"))["response"]
    assert "no other plugins are loaded" in text


async def test_without_a_model_unknown_input_says_how_to_get_one(chat: Harness) -> None:
    result = await chat.ask("explain recursion to me", "chat")
    assert result["data"]["kind"] == "unknown" and "llm_backend" not in result["data"]
    assert "fame models download" in result["response"] and "Settings → Models" in result["response"]


async def test_with_a_model_small_talk_and_unknown_input_are_the_models(
    plugin: Callable[..., Harness], tiny_gguf_path: Path
) -> None:
    from fame_desktop.orchestrator.llm.local_models import LocalModels, LocalModelSpec
    from fame_desktop.orchestrator.llm.local_provider import LocalProvider

    models = LocalModels()
    local = LocalProvider(LocalModelSpec(path=tiny_gguf_path, threads=1, context_size=512), models)
    chat = plugin("consciousness_engine", list_plugins=listing, status=status, llm=lambda: local)
    try:
        history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello!"}]
        for text in ("explain recursion to me", "tell me a joke"):
            result = await chat.ask(text, "chat", params={"history": history})
            data = result["data"]
            assert data["llm_backend"] == "llama.cpp" and data["llm_model"] == tiny_gguf_path.stem
            assert data["usage"]["completion_tokens"] > 0 and data["usage"]["prompt_tokens"] > 20
        # Help and identity stay built from the plugins, not made up by the model.
        helped = await chat.ask("what can you do", "chat")
        assert helped["data"]["kind"] == "help" and "llm_backend" not in helped["data"]
    finally:
        models.close()
