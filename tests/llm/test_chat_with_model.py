"""The chat answered by the local model, headless: the real Brain, plugins, bus and a tiny llama.cpp model.

The question goes through the conversation model as the window asks it: the answer streams as
``LlmToken`` events for the query, the earlier turns reach the model's prompt, Stop keeps the
answer so far (marked stopped), and every answer names its backend and model.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tiny_gguf import CHATML_TEMPLATE

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.conversation_model import STOPPED, ConversationModel
from fame_desktop.orchestrator.events import Event
from fame_desktop.orchestrator.llm import LlmToken


def install_tiny(app: App, model: Path, name: str = "tiny.gguf", **settings: Any) -> Path:
    """Put ``model`` in the app's llm_models folder and make it the active local model."""
    folder = app.services.paths.llm_models
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(model, folder / name)
    app.settings.update({"llm.local_model": name, "llm.threads": 1, **settings}, admin=False)
    return folder / name


@pytest.fixture
async def chat_app(data_dir: Path) -> AsyncIterator[App]:
    app = build_app(data_dir)
    app.bus.bind_loop(asyncio.get_running_loop())
    await app.brain.start()
    yield app
    await app.services.codegen.ready()
    await app.aclose()


def conversation(app: App, events: list[Event]) -> ConversationModel:
    app.bus.subscribe(Event, events.append)
    return ConversationModel(app.services.conversations, app.bus, app.brain.handle_query)


def prompt_tokens(model: Path, messages: list[dict[str, str]]) -> int:
    from jinja2 import Template
    from llama_cpp import Llama

    text = Template(CHATML_TEMPLATE).render(messages=messages, add_generation_prompt=True)
    vocab = Llama(model_path=str(model), vocab_only=True, verbose=False)
    try:
        return len(vocab.tokenize(text.encode(), add_bos=False, special=True))
    finally:
        vocab.close()


async def test_chat_streams_the_models_answer_with_the_earlier_turns(
    chat_app: App, tiny_gguf_path: Path
) -> None:
    model = install_tiny(chat_app, tiny_gguf_path)
    events: list[Event] = []
    talk = conversation(chat_app, events)
    first = await talk.ask("hello there", intent="chat")
    assert first is not None and first["error"] is None
    data = first["data"]
    assert (
        data["llm_backend"] == "llama.cpp" and data["llm_model"] == "tiny" and data["llm"] == "tiny (local)"
    )
    tokens = [e for e in events if isinstance(e, LlmToken) and e.query_id == first["id"]]
    streamed = "".join(t.text for t in tokens).strip()
    assert len(tokens) > 1 and streamed and first["response"].startswith(streamed)
    shown = talk.messages[-1]
    assert shown.role == "assistant" and shown.meta["model"] == "llama.cpp · tiny"
    assert data["usage"]["completion_tokens"] > 0

    second = await talk.ask("tell me a joke", intent="chat")
    assert second is not None and second["error"] is None
    system = _system_prompt()
    expected = prompt_tokens(
        model,
        [
            {"role": "system", "content": system},
            {"role": "user", "content": "hello there"},
            {"role": "assistant", "content": talk.messages[1].text},
            {"role": "user", "content": "tell me a joke"},
        ],
    )
    assert second["data"]["usage"]["prompt_tokens"] == expected


def _system_prompt() -> str:
    import importlib.util

    from fame_desktop.orchestrator.paths import builtin_plugin_dir

    spec = importlib.util.spec_from_file_location(
        "ce_prompt", builtin_plugin_dir() / "consciousness_engine.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.SYSTEM_PROMPT)


async def test_stop_keeps_the_answer_so_far_marked_stopped(chat_app: App, tiny_gguf_path: Path) -> None:
    install_tiny(chat_app, tiny_gguf_path)
    events: list[Event] = []
    talk = conversation(chat_app, events)
    task = asyncio.create_task(talk.ask("tell me a joke", intent="chat"))
    while sum(isinstance(e, LlmToken) for e in events) < 3:  # noqa: ASYNC110 - polls the events
        await asyncio.sleep(0.002)
    asked = time.perf_counter()
    talk.stop()
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped_after = time.perf_counter() - asked
    print(f"chat stop: answer shown as stopped after {stopped_after * 1000:.1f} ms")
    assert stopped_after < 1.0
    streamed = "".join(e.text for e in events if isinstance(e, LlmToken))
    answer, note = talk.messages[-2], talk.messages[-1]
    assert answer.role == "assistant" and answer.meta["stopped"] is True
    assert streamed.startswith(answer.text) and answer.text
    assert answer.meta["model"] == "llama.cpp · tiny"
    assert note.role == "system" and note.text == STOPPED
    # The model is free again: the next question is answered.
    again = await talk.ask("hello", intent="chat")
    assert again is not None and again["data"]["llm_backend"] == "llama.cpp"


async def test_without_a_model_the_answer_says_how_to_get_one(chat_app: App) -> None:
    talk = conversation(chat_app, [])
    response = await talk.ask("flibbertigibbet quantum marmalade", intent="chat")
    assert response is not None and response["error"] is None
    assert "fame models download" in response["response"] and "Settings → Models" in response["response"]
    assert "llm_backend" not in response["data"]
    assert chat_app.services.status()["llm"]["backend"] is None


async def test_a_corrupt_model_is_a_clear_error_not_a_crash(chat_app: App, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 4000)  # a header that says 0 tensors
    install_tiny(chat_app, bad, name="broken.gguf")
    talk = conversation(chat_app, [])
    response = await talk.ask("tell me a joke", intent="chat")
    assert response is not None and response["error"]["code"] == "model_invalid"
    assert (
        "broken.gguf" in response["error"]["message"] and "Settings → Models" in response["error"]["message"]
    )


async def test_the_status_names_the_active_model(chat_app: App, tiny_gguf_path: Path) -> None:
    install_tiny(chat_app, tiny_gguf_path)
    status = chat_app.services.status()["llm"]
    assert status == {"backend": "llama.cpp", "model": "tiny", "name": "tiny (local)", "loaded": False}
    await talk_once(chat_app)
    assert chat_app.services.status()["llm"]["loaded"] is True
    chat_app.settings.update({"llm.backend": "openai"}, admin=False)
    assert chat_app.services.status()["llm"]["backend"] is None  # no endpoint set: none


async def talk_once(app: App) -> None:
    response = await conversation(app, []).ask("hello", intent="chat")
    assert response is not None and response["data"]["llm_backend"] == "llama.cpp"
