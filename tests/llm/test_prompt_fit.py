"""Fitting a conversation into the context: oldest turns go first, the last message is cut, never an error."""

from __future__ import annotations

from collections.abc import Sequence

from fame_desktop.orchestrator.llm.base import ChatMessage
from fame_desktop.orchestrator.llm.prompt_fit import CUT_MARK, fit_messages, shorten_middle


def chars(messages: Sequence[ChatMessage]) -> int:
    """A token count of one token per character plus four per message (a template's overhead)."""
    return sum(len(m.content) + 4 for m in messages)


def conversation(turns: int) -> list[ChatMessage]:
    msgs = [ChatMessage("system", "be brief")]
    for i in range(turns):
        msgs.append(ChatMessage("user", f"question {i:02d}"))
        msgs.append(ChatMessage("assistant", f"answer {i:02d}"))
    msgs.append(ChatMessage("user", "last question"))
    return msgs


def test_a_conversation_that_fits_is_sent_whole() -> None:
    msgs = conversation(3)
    kept, tokens = fit_messages(msgs, chars, 1000)
    assert kept == msgs and tokens == chars(msgs)


def test_the_oldest_turns_go_first_and_system_and_last_stay() -> None:
    msgs = conversation(10)
    budget = chars(msgs) - 40
    kept, tokens = fit_messages(msgs, chars, budget)
    assert tokens <= budget
    assert kept[0].role == "system" and kept[-1].content == "last question"
    assert kept[1:] == msgs[len(msgs) - len(kept) + 1 :]  # a contiguous tail of the newest turns
    assert len(kept) == len(msgs) - 3  # 40 tokens = 3 messages of 15-16 tokens: no more dropped


def test_a_last_message_longer_than_the_context_is_cut_in_the_middle() -> None:
    long = "START " + "x" * 5000 + " END?"
    kept, tokens = fit_messages([ChatMessage("system", "s"), ChatMessage("user", long)], chars, 300)
    assert tokens <= 300
    text = kept[-1].content
    assert text.startswith("START") and text.endswith("END?") and CUT_MARK in text


def test_shorten_middle_keeps_about_the_asked_length() -> None:
    text = "".join(str(i % 10) for i in range(1000))
    short = shorten_middle(text, 100)
    assert len(short) == 100 and short.endswith(text[-60:])
    assert shorten_middle("abc", 10) == "abc" and shorten_middle("abcdef", 0) == ""
