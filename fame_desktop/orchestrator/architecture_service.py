"""Architecture design as a service for the ``universal_developer`` plugin.

Without a model the answer is the knowledge base's matched patterns (:mod:`.codegen.architecture`).
With one, the model designs the system actually asked for, grounded in the same matched patterns
(they go into its prompt, and the answer names them); if the model fails, the knowledge base's
answer is given with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fame_desktop.orchestrator.codegen.architecture import Advice, ArchitectureKB, Pattern
from fame_desktop.orchestrator.errors import FameError
from fame_desktop.orchestrator.llm import ChatMessage, LlmProvider
from fame_desktop.orchestrator.llm.structured import answer_budget, model_data

log = logging.getLogger("fame.codegen")

SYSTEM = (
    "You are a senior software architect. Design the system the person asks for: its components "
    "and what each owns, the data and where it lives, the main flows, how it scales and fails, "
    "and the trade-offs. Ground the design in the patterns you are given: say which ones you use, "
    "where, and why; reject one only with a reason. Answer in Markdown with short sections; be "
    "concrete about this system, not generic."
)

#: Longest design asked of the model.
MAX_DESIGN_TOKENS = 1200


def grounding(chosen: list[tuple[Pattern, float]]) -> str:
    """The matched patterns as the model reads them: summary, fit, trade-offs, components."""
    blocks = []
    for pattern, score in chosen:
        blocks.append(
            "\n".join(
                [
                    f"### {pattern.name} (match {score:.0%})",
                    pattern.summary,
                    "When to use: " + "; ".join(pattern.when_to_use),
                    "Avoid when: " + "; ".join(pattern.avoid_when),
                    "Pros: " + "; ".join(pattern.pros),
                    "Cons: " + "; ".join(pattern.cons),
                    "Components: " + "; ".join(pattern.components),
                ]
            )
        )
    return "\n\n".join(blocks)


def design_messages(text: str, advice: Advice) -> list[ChatMessage]:
    """The request to the model: the person's words and the knowledge base's matched patterns."""
    user = (
        f"Request: {text}\n\nPatterns from the knowledge base that match this request, best first:\n\n"
        f"{grounding(advice.patterns)}\n\nDesign this system."
    )
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user)]


class ArchitectureService:
    """Answers ``architecture_design`` requests.

    Args:
        kb: The pattern knowledge base.
        llm: Returns the configured model, or None (read at every request).
    """

    def __init__(self, kb: ArchitectureKB, *, llm: Callable[[], LlmProvider | None] = lambda: None) -> None:
        self.kb = kb
        self._llm = llm

    def advise(self, text: str) -> Advice:
        """The knowledge base's advice (no model)."""
        return self.kb.advise(text)

    async def answer(self, text: str, *, query_id: str | None = None) -> dict[str, Any]:
        """``{"markdown", "patterns": [{"id", "score"}], "source"}``, plus ``llm_backend`` and
        ``llm_model`` when a model wrote the design."""
        advice = self.kb.advise(text)
        patterns = [{"id": p.id, "score": float(score)} for p, score in advice.patterns]
        provider = self._llm()
        if provider is None:
            return {"markdown": advice.markdown, "patterns": patterns, "source": "knowledge_base"}
        try:
            completion = await provider.complete(
                design_messages(text, advice),
                query_id=query_id,
                max_tokens=answer_budget(provider.context_size, MAX_DESIGN_TOKENS),
            )
        except FameError as exc:
            log.warning("architecture design by the model failed: %s", exc.message)
            note = f"\n\n_The model ({provider.name}) failed: {exc.message} {exc.fix}".rstrip() + "_\n"
            return {"markdown": advice.markdown + note, "patterns": patterns, "source": "knowledge_base"}
        design = completion.text.strip()
        if not design:
            note = (
                f"\n\n_The model ({provider.name}) gave an empty answer; these are the matched patterns._\n"
            )
            return {"markdown": advice.markdown + note, "patterns": patterns, "source": "knowledge_base"}
        names = ", ".join(f"{p.name} ({s:.0%})" for p, s in advice.patterns)
        stopped = " (stopped)" if completion.reason == "cancelled" else ""
        markdown = (
            f"{design}\n\n---\n_Grounded in the knowledge base's patterns: {names}. "
            f"Written by {provider.name}{stopped}._\n"
        )
        return {
            "markdown": markdown,
            "patterns": patterns,
            "source": "llm",
            **model_data(completion, provider),
        }
