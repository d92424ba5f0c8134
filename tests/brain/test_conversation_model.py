"""The conversation model, headless (no Qt): turns, persistence, stop and the voice revision rule.

Everything is real: the Brain with its plugins (plus a slow one in the user plugin folder), the
audit log, the conversation store's SQLite file and the event bus. A voice listen starting is the
``VoiceStateChanged("starting")`` event the voice adapter publishes; the wake phrase's queries are
asked of the Brain as the adapter asks them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from plugin_trust import approve_plugins

from fame_desktop.app import App, build_app
from fame_desktop.orchestrator.conversation_model import (
    REVISED,
    STOPPED,
    ConversationModel,
)
from fame_desktop.orchestrator.conversations import ConversationStore
from fame_desktop.orchestrator.events import (
    ConversationBusyChanged,
    ConversationMessageAdded,
    ConversationOpened,
    ConversationsChanged,
    ConversationTruncated,
    Event,
    QueryReceived,
    VoiceStateChanged,
)

SLOW_PLUGIN = '''
"""Answers "ponder" queries after a while: a revision or a stop finds them running."""
import asyncio

PLUGIN = {
    "name": "slow_thinker",
    "version": "1.0.0",
    "description": "Answers slowly.",
    "intents": {"evolution": ["ponder slowly", "slowpoke ponder"]},
    "keywords": {"evolution": ["slowpoke", "ponder"]},
    "timeout_seconds": 60,
    "priority": 100,
}


async def handle(request):
    await asyncio.sleep(float(request.get("text", "").count("!")) * 0.4 or 0.4)
    return {"response": "pondered: " + request["text"]}
'''
# The slow plugin's intent, named in each slow query: which intent a phrase goes to is the router's
# business (it may ask when unsure), not this model's.
SLOW = "evolution"


# One Brain for the module (building one and loading its plugins is most of a test's time);
# each test has its own store, model and event record, and counts audit entries from its start.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def brain_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    """The real app over a fresh data dir, with the slow plugin in its user plugin folder."""
    data_dir = tmp_path_factory.mktemp("data")
    plugins = data_dir / "plugins"
    plugins.mkdir()
    (plugins / "slow_thinker.py").write_text(SLOW_PLUGIN, encoding="utf-8")
    approve_plugins(data_dir)
    app = build_app(data_dir)
    app.bus.bind_loop(asyncio.get_running_loop())
    await app.brain.start()
    yield app
    # The Brain warms the code library in a thread that its aclose does not wait for; on Python
    # 3.11 ``ast.parse`` in two threads at once can fail, so it must not outlive the test.
    await app.services.codegen.ready()
    await app.aclose()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    """A conversation store on a real SQLite file."""
    conversations = ConversationStore(tmp_path / "conversations.db")
    yield conversations
    conversations.close()


@pytest.fixture
def model(brain_app: App, store: ConversationStore) -> Iterator[ConversationModel]:
    """The conversation model over the real Brain."""
    conversation = ConversationModel(store, brain_app.bus, brain_app.brain.handle_query)
    yield conversation
    conversation.close()


def _record(app: App) -> list[Event]:
    events: list[Event] = []
    for kind in (
        ConversationOpened,
        ConversationMessageAdded,
        ConversationTruncated,
        ConversationBusyChanged,
        ConversationsChanged,
    ):
        app.bus.subscribe(kind, events.append)
    return events


def _shown(model: ConversationModel) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in model.messages]


def _stored(store: ConversationStore, model: ConversationModel) -> list[tuple[str, str]]:
    assert model.conversation_id is not None
    return [(m.role, m.text) for m in store.messages(model.conversation_id)]


@pytest.fixture
def received(brain_app: App) -> Iterator[list[QueryReceived]]:
    """The queries the Brain receives during the test."""
    queries: list[QueryReceived] = []
    sub = brain_app.bus.subscribe(QueryReceived, queries.append)
    yield queries
    sub.cancel()


async def _received(queries: list[QueryReceived], text: str) -> str:
    """The Brain's id of the query ``text`` once the Brain has received it."""
    for _ in range(500):
        for event in queries:
            if event.text == text:
                return event.query_id
        await asyncio.sleep(0.01)
    raise AssertionError(f"the Brain never received {text!r}")


def _counter(app: App) -> Callable[[str], int]:
    """How many audit entries of a kind were appended since it was made."""
    start = {kind: app.audit.count(kinds=[kind]) for kind in ("query", "query_cancelled", "query_completed")}
    return lambda kind: app.audit.count(kinds=[kind]) - start[kind]


def _listen(app: App) -> None:
    """A voice listen starts (what the voice adapter publishes when it opens the microphone)."""
    app.bus.publish(VoiceStateChanged(state="starting"))


async def test_turns_are_shown_stored_and_published_and_a_stored_conversation_reopens(
    brain_app: App, model: ConversationModel, store: ConversationStore, tmp_path: Path
) -> None:
    events = _record(brain_app)
    response = await model.ask("what is 2 + 2")
    assert response is not None and response["error"] is None and "4" in response["response"]
    await model.ask("what is 6 * 7")

    assert [role for role, _ in _shown(model)] == ["user", "assistant", "user", "assistant"]
    assert _shown(model)[2][1] == "what is 6 * 7" and "42" in _shown(model)[3][1]
    assert _stored(store, model) == _shown(model)
    conversation = store.get(model.conversation_id or 0)
    assert conversation is not None and conversation.title == "what is 2 + 2"
    # The answer carries the response, its intent and plugin for the meta line.
    added = [e for e in events if isinstance(e, ConversationMessageAdded)]
    assert [e.index for e in added] == [0, 1, 2, 3]
    assert added[1].response == response and added[1].meta["intent"] == "calculate"
    assert added[1].meta["plugins"] == ["calculator"] and not added[1].external
    assert added[0].message_id == store.messages(model.conversation_id or 0)[0].id
    busy = [e.busy for e in events if isinstance(e, ConversationBusyChanged)]
    assert busy == [True, False, True, False] and not model.busy
    assert any(isinstance(e, ConversationsChanged) for e in events)
    # Audited like any query, by the Brain.
    assert [e.data["text"] for e in brain_app.audit.query(kinds=["query"], limit=2)] == [
        "what is 6 * 7",
        "what is 2 + 2",
    ]

    # Another process (a new store on the same file) reopens it; a new conversation is empty.
    first_id = model.conversation_id
    reopened = ConversationModel(
        ConversationStore(tmp_path / "conversations.db"), brain_app.bus, brain_app.brain.handle_query
    )
    try:
        reopened.open(first_id)
        assert _shown(reopened) == _shown(model)
        opened = [e for e in events if isinstance(e, ConversationOpened)]
        assert opened[-1].conversation_id == first_id and len(opened[-1].messages) == 4
        reopened.new()
        assert reopened.conversation_id is None and reopened.messages == ()
        await reopened.ask("what is 1 + 1")
        assert reopened.conversation_id not in (None, first_id)
        assert len(store.conversations()) == 2
    finally:
        reopened.close()
        reopened.store.close()


async def test_stop_cancels_the_running_question_shows_it_and_the_brain_audits_it(
    brain_app: App, model: ConversationModel, store: ConversationStore, received: list[QueryReceived]
) -> None:
    events = _record(brain_app)
    audited = _counter(brain_app)
    task = asyncio.create_task(model.ask("slowpoke ponder!!!!!!!!!!", SLOW))
    await _received(received, "slowpoke ponder!!!!!!!!!!")
    assert model.busy and model.query_id is not None
    model.stop()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not model.busy
    assert _shown(model) == [("user", "slowpoke ponder!!!!!!!!!!"), ("system", STOPPED)]
    assert _stored(store, model) == _shown(model)
    assert audited("query_cancelled") == 1 and audited("query_completed") == 0
    assert [e.busy for e in events if isinstance(e, ConversationBusyChanged)] == [True, False]
    # Still usable.
    answer = await model.ask("what is 3 + 4")
    assert answer is not None and "7" in answer["response"]


async def test_opening_another_conversation_stops_the_question_without_a_trace_there(
    brain_app: App, model: ConversationModel, store: ConversationStore, received: list[QueryReceived]
) -> None:
    audited = _counter(brain_app)
    await model.ask("what is 1 + 2")
    first = model.conversation_id
    task = asyncio.create_task(model.ask("slowpoke ponder!!!!!!!!!!", SLOW))
    await _received(received, "slowpoke ponder!!!!!!!!!!")
    model.new()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert model.messages == () and model.conversation_id is None and not model.busy
    assert first is not None and [m.role for m in store.messages(first)] == ["user", "assistant", "user"]
    assert audited("query_cancelled") == 1


async def test_a_revision_replaces_the_running_question_and_cancels_it_quietly(
    brain_app: App, model: ConversationModel, store: ConversationStore, received: list[QueryReceived]
) -> None:
    events = _record(brain_app)
    audited = _counter(brain_app)
    _listen(brain_app)
    early = model.question("slowpoke ponder", source="voice")
    first = asyncio.create_task(model.answer(early, SLOW))
    early_id = await _received(received, "slowpoke ponder")
    assert model.busy and model.conversation_id is not None
    early_conversation = model.conversation_id

    whole = "slowpoke ponder the meaning of life"
    revised = model.revise(whole)
    second = asyncio.create_task(model.answer(revised, SLOW))
    with pytest.raises(asyncio.CancelledError) as cancelled:
        await first
    assert cancelled.value.args == (REVISED,)
    response = await second
    assert response is not None and response["response"] == f"pondered: {whole}"

    # One question (the whole one) and one answer, nothing stopped: shown and stored.
    assert _shown(model) == [("user", whole), ("assistant", f"pondered: {whole}")]
    assert _stored(store, model) == _shown(model)
    # The early question started the conversation: it is started again, titled with the whole one.
    assert store.get(early_conversation) is None
    conversation = store.get(model.conversation_id or 0)
    assert conversation is not None and conversation.title == whole
    assert [c.id for c in store.conversations()] == [model.conversation_id]
    assert [e.keep for e in events if isinstance(e, ConversationTruncated)] == [0]
    assert model.messages[0].meta == {"source": "voice"}
    # The early query reached the Brain and was cancelled: audited as such, not as an error.
    assert audited("query_cancelled") == 1 and audited("query_completed") == 1
    assert brain_app.audit.query(kinds=["query_cancelled"], limit=1)[0].data["id"] == early_id
    assert not model.busy and [e.busy for e in events if isinstance(e, ConversationBusyChanged)][-1] is False


async def test_a_revision_takes_back_an_answered_question_and_its_answer_only(
    brain_app: App, model: ConversationModel, store: ConversationStore
) -> None:
    audited = _counter(brain_app)
    await model.ask("what is 2 + 2")
    _listen(brain_app)
    await model.ask("what is 3", source="voice")  # answered before the user went on
    assert len(model.messages) == 4
    await model.answer(model.revise("what is 3 + 4"))

    shown = _shown(model)
    assert [role for role, _ in shown] == ["user", "assistant", "user", "assistant"]
    assert shown[0][1] == "what is 2 + 2" and shown[2][1] == "what is 3 + 4" and "7" in shown[3][1]
    assert _stored(store, model) == shown
    assert len(store.conversations()) == 1
    # Nothing was running, so nothing was cancelled.
    assert audited("query_cancelled") == 0 and audited("query") == 3


async def test_a_question_of_a_new_listen_is_a_new_question_not_a_revision(
    brain_app: App, model: ConversationModel
) -> None:
    _listen(brain_app)
    await model.ask("what is 1 + 1", source="voice")
    _listen(brain_app)
    await model.answer(model.revise("what is 2 + 2"))  # the voice control's first final of this listen
    assert [text for role, text in _shown(model) if role == "user"] == ["what is 1 + 1", "what is 2 + 2"]
    # A typed question is never revised.
    await model.ask("what is 5 + 5")
    await model.answer(model.revise("what is 5 + 6"))
    assert [text for role, text in _shown(model) if role == "user"][-2:] == ["what is 5 + 5", "what is 5 + 6"]


async def test_the_late_answer_of_a_superseded_question_is_ignored(
    brain_app: App, store: ConversationStore, received: list[QueryReceived]
) -> None:
    # A Brain whose answer arrives although its query was superseded (the answer and the revision
    # crossed): the model must drop it.
    late: list[dict[str, Any]] = []

    async def answers_anyway(request: dict[str, Any]) -> dict[str, Any]:
        inner = asyncio.ensure_future(brain_app.brain.handle_query(request))
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            late.append(await inner)
            return late[-1]

    model = ConversationModel(store, brain_app.bus, answers_anyway)
    try:
        _listen(brain_app)
        first = asyncio.create_task(model.answer(model.question("slowpoke ponder!", source="voice"), SLOW))
        await _received(received, "slowpoke ponder!")
        revised = await model.answer(model.revise("slowpoke ponder! more"), SLOW)
        assert (await first) is not None and late and late[0]["response"] == "pondered: slowpoke ponder!"
    finally:
        model.close()
    assert revised is not None
    assert _shown(model) == [
        ("user", "slowpoke ponder! more"),
        ("assistant", "pondered: slowpoke ponder! more"),
    ]
    assert _stored(store, model) == _shown(model)


async def test_wake_phrase_queries_are_shown_revised_and_a_superseded_late_answer_is_ignored(
    brain_app: App, model: ConversationModel, store: ConversationStore, received: list[QueryReceived]
) -> None:
    events = _record(brain_app)

    async def voice_ask(text: str) -> dict[str, Any]:  # as the voice adapter asks the Brain
        return await brain_app.brain.handle_query({"text": text, "source": "voice", "intent": SLOW})

    _listen(brain_app)
    early = asyncio.create_task(voice_ask("slowpoke ponder!"))
    await _received(received, "slowpoke ponder!")
    assert _shown(model) == [("user", "slowpoke ponder!")]
    # The adapter's revision: a second query of the same listen, asked while the first still runs
    # (not cancelled here, so its answer comes after the revision and must be dropped).
    whole = asyncio.create_task(voice_ask("slowpoke ponder!! at length"))
    await early
    assert _shown(model) == [("user", "slowpoke ponder!! at length")]
    await whole
    assert _shown(model) == [
        ("user", "slowpoke ponder!! at length"),
        ("assistant", "pondered: slowpoke ponder!! at length"),
    ]
    assert _stored(store, model) == _shown(model)
    answers = [e for e in events if isinstance(e, ConversationMessageAdded) and e.response is not None]
    assert len(answers) == 1 and answers[0].external
    # The model asked nothing itself.
    assert not model.busy and not any(isinstance(e, ConversationBusyChanged) for e in events)


async def test_after_close_nothing_is_shown_or_stored(
    brain_app: App, model: ConversationModel, store: ConversationStore, received: list[QueryReceived]
) -> None:
    task = asyncio.create_task(model.ask("slowpoke ponder!!!!!!!!!!", SLOW))
    await _received(received, "slowpoke ponder!!!!!!!!!!")
    model.close()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _stored(store, model) == [("user", "slowpoke ponder!!!!!!!!!!")]
    await brain_app.brain.handle_query({"text": "what is 1 + 1", "source": "voice"})
    assert len(model.messages) == 1
