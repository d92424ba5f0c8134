"""The conversation store, headless: taking back the end of a conversation (a revised question)."""

from __future__ import annotations

from pathlib import Path

from fame_desktop.orchestrator.conversations import ConversationStore


def test_delete_messages_from_removes_that_message_and_the_later_ones_only(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "conversations.db")
    try:
        kept = store.create("kept")
        other = store.create("other")
        ids = [
            store.add_message(kept, role, text)
            for role, text in (
                ("user", "first question"),
                ("assistant", "first answer"),
                ("user", "half a question"),
                ("assistant", "answer to half a question"),
            )
        ]
        store.add_message(other, "user", "elsewhere")

        assert store.delete_messages_from(kept, ids[2]) == 2
        assert [m.text for m in store.messages(kept)] == ["first question", "first answer"]
        assert [m.text for m in store.messages(other)] == ["elsewhere"]
        assert store.delete_messages_from(kept, ids[3]) == 0
    finally:
        store.close()
