"""Fitting a conversation into a model's context: drop the oldest turns, then shorten, never fail.

A local model has a fixed context (``llm.context_size`` tokens) that holds the prompt and the
answer. A conversation that outgrows it keeps its system messages and its last message; the
oldest other turns go first. If the last message alone is too long (a pasted file), its middle is
cut, keeping the start (usually the instruction) and the end (usually the question).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fame_desktop.orchestrator.llm.base import ChatMessage

CUT_MARK = "\n[…]\n"

CountTokens = Callable[[Sequence[ChatMessage]], int]
"""Tokens the formatted prompt of these messages takes (the chat template included)."""


def fit_messages(
    messages: Sequence[ChatMessage], count: CountTokens, budget: int
) -> tuple[list[ChatMessage], int]:
    """The messages to send, within ``budget`` prompt tokens, and their token count.

    Args:
        messages: The conversation, oldest first; its last message is the one to answer.
        count: Counts a candidate prompt's tokens.
        budget: Most tokens the prompt may take (the rest of the context is for the answer).

    Returns:
        The kept messages (system messages and the last one always; the newest other turns that
        fit) and their token count, which is at most ``budget`` unless even a shortened last
        message cannot fit (then the shortest prompt found).
    """
    msgs = list(messages)
    if not msgs:
        return [], 0
    total = count(msgs)
    if total <= budget:
        return msgs, total
    # Drop the oldest droppable turns: binary search for the fewest drops that fit.
    droppable = [i for i, m in enumerate(msgs[:-1]) if m.role != "system"]

    def without(drops: int) -> list[ChatMessage]:
        gone = set(droppable[:drops])
        return [m for i, m in enumerate(msgs) if i not in gone]

    lo, hi = 1, len(droppable)
    best: tuple[list[ChatMessage], int] | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = without(mid)
        tokens = count(candidate)
        if tokens <= budget:
            best = (candidate, tokens)
            hi = mid - 1
        else:
            lo = mid + 1
    if best is not None:
        return best
    # Even the system messages and the last one are too long: shorten the longest of them.
    kept = without(len(droppable))
    tokens = count(kept)
    for _ in range(8):
        if tokens <= budget:
            break
        longest = max(range(len(kept)), key=lambda i: len(kept[i].content))
        content = kept[longest].content
        ratio = budget / max(tokens, 1)
        excess_chars = int(len(content) * (1 - ratio)) + len(CUT_MARK) + 16
        keep = max(len(content) - excess_chars, 0)
        kept[longest] = ChatMessage(kept[longest].role, shorten_middle(content, keep))
        tokens = count(kept)
        if keep == 0:
            break
    return kept, tokens


def shorten_middle(text: str, keep: int) -> str:
    """``text`` cut to about ``keep`` characters by removing its middle (marked with ``[…]``)."""
    if len(text) <= keep:
        return text
    if keep <= len(CUT_MARK):
        return text[-keep:] if keep > 0 else ""
    head = (keep - len(CUT_MARK)) // 3  # a third from the start, the rest from the end
    tail = keep - len(CUT_MARK) - head
    return text[:head] + CUT_MARK + (text[-tail:] if tail > 0 else "")
