"""The in-process llama.cpp backend on the tiny GGUF model: streaming, usage, stop, JSON, cancel, context."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from tiny_gguf import CHATML_TEMPLATE, write_tiny_gguf

from fame_desktop.orchestrator.events import Event, EventBus
from fame_desktop.orchestrator.llm import ChatMessage, LlmError, LlmStreamEnded, LlmToken, LlmUnavailable
from fame_desktop.orchestrator.llm.errors import LlmModelInvalid
from fame_desktop.orchestrator.llm.local_models import LocalModels, LocalModelSpec
from fame_desktop.orchestrator.llm.local_provider import LocalProvider

HELLO = [ChatMessage("system", "be brief"), ChatMessage("user", "hello")]


@pytest.fixture
def models() -> LocalModels:
    cache = LocalModels()
    yield cache
    cache.close()


def provider(
    path: Path, models: LocalModels, events: list[Event] | None = None, **spec: object
) -> LocalProvider:
    bus = EventBus()
    if events is not None:
        bus.subscribe(Event, events.append)
    return LocalProvider(LocalModelSpec(path=path, threads=1, seed=7, **spec), models, publish=bus.publish)  # type: ignore[arg-type]


def chatml(messages: list[ChatMessage]) -> str:
    from jinja2 import Template

    return Template(CHATML_TEMPLATE).render(
        messages=[m.to_dict() for m in messages], add_generation_prompt=True
    )


async def test_a_completion_streams_tokens_and_reports_usage(
    tiny_gguf_path: Path, models: LocalModels
) -> None:
    events: list[Event] = []
    local = provider(tiny_gguf_path, models, events)
    done = await local.complete(HELLO, max_tokens=20, query_id="q1")
    tokens = [e for e in events if isinstance(e, LlmToken)]
    ended = [e for e in events if isinstance(e, LlmStreamEnded)]
    assert done.text and "".join(t.text for t in tokens) == done.text
    assert {t.query_id for t in tokens} == {"q1"} and [t.index for t in tokens] == list(range(len(tokens)))
    assert {(t.backend, t.model) for t in tokens} == {("llama.cpp", tiny_gguf_path.stem)}
    assert len(ended) == 1 and ended[0].reason == "length" and ended[0].tokens == len(tokens)
    assert done.reason == "length" and done.completion_tokens == 20
    assert done.backend == "llama.cpp" and done.model == tiny_gguf_path.stem
    assert local.name == f"{tiny_gguf_path.stem} (local)" and local.context_size == 4096
    assert done.first_token_s is not None and done.tokens_per_second > 0


async def test_the_earlier_turns_reach_the_prompt(tiny_gguf_path: Path, models: LocalModels) -> None:
    from llama_cpp import Llama

    talk = [
        ChatMessage("system", "be brief"),
        ChatMessage("user", "my name is Ada"),
        ChatMessage("assistant", "hello Ada"),
        ChatMessage("user", "what is my name?"),
    ]
    done = await provider(tiny_gguf_path, models).complete(talk, max_tokens=4)
    counter = Llama(model_path=str(tiny_gguf_path), n_ctx=256, vocab_only=True, verbose=False)
    try:
        expected = counter.tokenize(chatml(talk).encode(), add_bos=False, special=True)
        only_last = counter.tokenize(chatml([talk[0], talk[-1]]).encode(), add_bos=False, special=True)
    finally:
        counter.close()
    assert done.prompt_tokens == len(expected) > len(only_last)


async def test_a_stop_sequence_ends_the_answer_before_it(tiny_gguf_path: Path, models: LocalModels) -> None:
    local = provider(tiny_gguf_path, models)
    free = await local.complete(HELLO, max_tokens=40, temperature=0.0)
    assert len(free.text) > 12
    stop = free.text[8:11]
    cut = free.text[: free.text.index(stop)]
    stopped = await local.complete(HELLO, max_tokens=40, temperature=0.0, stop=[stop])
    assert stopped.text == cut and stopped.reason == "stop"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
async def test_json_schema_output_always_parses(tmp_path: Path, models: LocalModels, seed: int) -> None:
    path = write_tiny_gguf(tmp_path / f"tiny-{seed}.gguf", seed=seed)
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "count": {"type": "integer"},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
        },
        "required": ["name", "count", "ok", "tags"],
        "additionalProperties": False,
    }
    local = provider(path, models)
    for temperature in (0.0, 0.8, 1.5):
        done = await local.complete(HELLO, json_schema=schema, max_tokens=300, temperature=temperature)
        value = json.loads(done.text)
        assert set(value) == {"name", "count", "ok", "tags"}
        assert isinstance(value["count"], int) and isinstance(value["ok"], bool)
        # (the random model writes stray UTF-8 bytes, each shown as U+FFFD: the length is not exact)
        assert isinstance(value["name"], str) and set(value["tags"]) <= {"a", "b", "c"}
        assert done.reason == "stop"  # the grammar ended it, not the token limit


async def test_cancel_stops_the_model_within_200_ms(tiny_gguf_path: Path, models: LocalModels) -> None:
    events: list[Event] = []
    local = provider(tiny_gguf_path, models, events)
    cancel = asyncio.Event()

    async def stop_after_some() -> float:
        while sum(isinstance(e, LlmToken) for e in events) < 5:  # noqa: ASYNC110 - polls the events
            await asyncio.sleep(0.001)
        cancel.set()
        return time.perf_counter()

    stopper = asyncio.create_task(stop_after_some())
    done = await local.complete(HELLO, max_tokens=3000, cancel=cancel)
    returned = time.perf_counter()
    asked = await stopper
    # The model's thread is free again: the next job on it runs at once.
    model = await local.load()
    freed = await asyncio.wrap_future(model.executor.submit(time.perf_counter))
    print(
        f"cancel: returned after {(returned - asked) * 1000:.1f} ms, model free after {(freed - asked) * 1000:.1f} ms"
    )
    assert done.reason == "cancelled" and done.completion_tokens < 3000
    assert returned - asked < 0.2 and freed - asked < 1.0
    ended = [e for e in events if isinstance(e, LlmStreamEnded)]
    assert ended[-1].reason == "cancelled"
    again = await local.complete(HELLO, max_tokens=5)
    assert again.reason == "length"


async def test_cancelling_the_task_stops_the_model(tiny_gguf_path: Path, models: LocalModels) -> None:
    events: list[Event] = []
    local = provider(tiny_gguf_path, models, events)
    task = asyncio.create_task(local.complete(HELLO, max_tokens=3000))
    while not any(isinstance(e, LlmToken) for e in events):  # noqa: ASYNC110 - polls the events
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    model = await local.load()
    started = time.perf_counter()
    await asyncio.wrap_future(model.executor.submit(lambda: None))
    assert time.perf_counter() - started < 1.0
    assert [e.reason for e in events if isinstance(e, LlmStreamEnded)] == ["cancelled"]


async def test_generation_runs_off_the_event_loop(tiny_gguf_path: Path, models: LocalModels) -> None:
    local = provider(tiny_gguf_path, models)
    model = await local.load()
    name = await asyncio.wrap_future(model.executor.submit(lambda: threading.current_thread().name))
    assert name.startswith("fame-llama") and name != threading.current_thread().name
    # Loaded once: a second provider for the same file and parameters shares the model.
    assert await provider(tiny_gguf_path, models).load() is model
    assert models.loaded() == [model]


async def test_a_prompt_longer_than_the_context_is_trimmed(tiny_gguf_path: Path, models: LocalModels) -> None:
    local = provider(tiny_gguf_path, models, context_size=256)
    talk = [ChatMessage("system", "be brief")]
    for i in range(30):
        talk += [
            ChatMessage("user", f"question number {i} " * 3),
            ChatMessage("assistant", f"answer {i} " * 3),
        ]
    talk.append(ChatMessage("user", "and the last question?"))
    done = await local.complete(talk, max_tokens=16)
    assert done.reason == "length" and done.completion_tokens == 16
    assert done.prompt_tokens <= 256 - 16
    huge = [ChatMessage("user", "explain this: " + "lorem ipsum " * 2000)]
    done = await local.complete(huge, max_tokens=16)
    assert 0 < done.prompt_tokens <= 256 - 16 and done.reason == "length"


async def test_a_file_that_is_not_gguf_is_a_clear_error(tmp_path: Path, models: LocalModels) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("just some text, not a model\n" * 100)
    with pytest.raises(LlmModelInvalid) as info:
        await provider(bad, models).complete(HELLO)
    assert "not a GGUF model" in info.value.message and "fame models" in info.value.fix
    with pytest.raises(LlmUnavailable) as missing:
        await provider(tmp_path / "gone.gguf", models).complete(HELLO)
    assert "not installed" in missing.value.message


async def test_a_truncated_gguf_is_a_clear_error(
    tiny_gguf_path: Path, tmp_path: Path, models: LocalModels
) -> None:
    cut = tmp_path / "cut.gguf"
    whole = tiny_gguf_path.read_bytes()  # noqa: ASYNC240 - a test's setup
    cut.write_bytes(whole[: len(whole) // 2])
    events: list[Event] = []
    with pytest.raises(LlmError) as info:
        await provider(cut, models, events).complete(HELLO)
    assert "cut.gguf" in info.value.message and info.value.fix
    assert [e.reason for e in events if isinstance(e, LlmStreamEnded)] == ["error"]
    # The process is fine and a good model still answers.
    assert (await provider(tiny_gguf_path, models).complete(HELLO, max_tokens=3)).text


async def test_a_file_llama_cpp_aborts_on_is_refused_without_crashing(
    tmp_path: Path, models: LocalModels
) -> None:
    bad = write_tiny_gguf(tmp_path / "aborts.gguf", duplicate_token=True)
    with pytest.raises(LlmModelInvalid) as info:
        await provider(bad, models).complete(HELLO)
    assert "aborts.gguf" in info.value.message and info.value.fix
    assert models.loaded() == []  # still here: the trial load died in its own process


async def test_a_load_under_way_stops_when_the_app_closes(tiny_gguf_path: Path) -> None:
    # The real trial load in a child process, then the app closes while it runs (a window
    # preloading the model when the user quits): the load stops there, nothing is loaded after.
    probing = threading.Event()

    def probe(path: Path) -> None:
        probing.set()
        from fame_desktop.orchestrator.llm.local_models import probe_model_file

        probe_model_file(path)

    models = LocalModels(probe=probe)
    load = asyncio.ensure_future(provider(tiny_gguf_path, models).load())
    while not probing.is_set():  # noqa: ASYNC110 - waits for the worker thread
        await asyncio.sleep(0.005)
    models.close()
    with pytest.raises(LlmUnavailable) as info:
        await load
    assert "closing" in info.value.message
    assert models.loaded() == []
