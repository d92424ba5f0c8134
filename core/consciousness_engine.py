"""consciousness_engine: conversation, answered by the language model when one is set up.

It is also the Brain's fallback for text no other plugin claims. With a model (a local GGUF model
or an endpoint), small talk and anything unknown get the model's answer, streamed into the chat
while it is written, with the conversation's earlier turns as context; help and identity stay
built from the loaded plugins. Without a model the answers are the canned ones, and the
unknown-input answer is honest: it says it did not understand, shows what FAME can do, and says
how to get a model.
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from typing import Any

from fame_plugin_api import (
    HostSlot,
    PluginHost,
    ServiceUnavailable,
    query_id,
    request_history,
    request_text,
)

PLUGIN = {
    "schema_version": 1,
    "name": "consciousness_engine",
    "version": "1.0.0",
    "description": "Conversation: greetings, thanks, help with what FAME can do, identity and small talk.",
    "intents": {
        "chat": [
            "hello",
            "hi there",
            "good morning",
            "thank you",
            "what can you do",
            "help",
            "who are you",
            "how are you",
            "tell me a joke",
            "goodbye",
        ],
    },
    "keywords": {
        "chat": [
            "hello",
            "hi",
            "hey",
            "greetings",
            "good morning",
            "good afternoon",
            "good evening",
            "thanks",
            "thank you",
            "bye",
            "goodbye",
            "see you",
            "help",
            "what can you do",
            "capabilities",
            "who are you",
            "your name",
            "yourself",
            "how are you",
            "joke",
            "bored",
            "nice to meet you",
            "awesome",
            "chat",
            "talk",
            "how do i use you",
            "what's up",
        ],
    },
    "needs_network": False,
    # A model's answer on a laptop CPU can take a minute or two; the canned replies take
    # milliseconds. Stop (Esc) ends either at once.
    "timeout_seconds": 300,
    "priority": -10,
}

_HOST = HostSlot("consciousness_engine")

# (kind, patterns). Checked in order; the first kind with a whole-word match answers.
KINDS: list[tuple[str, tuple[str, ...]]] = [
    ("help", (r"help", r"what can you do", r"what do you do", r"capabilit\w*", r"features?", r"commands",
              r"how (?:do|can|should) i use you", r"what are you able", r"skills", r"what can i ask")),
    ("identity", (r"who are you", r"what are you", r"your name", r"about yourself", r"who (?:made|built|created) you",
                  r"are you (?:a |an )?(?:bot|robot|ai|human|person)")),
    ("how_are_you", (r"how are you", r"how'?s it going", r"how are things", r"how do you do", r"how have you been")),
    ("thanks", (r"thanks?", r"thank you", r"thx", r"cheers", r"appreciate", r"grateful")),
    ("goodbye", (r"bye", r"goodbye", r"see you", r"see ya", r"good night", r"farewell", r"later", r"cya")),
    ("joke", (r"jokes?", r"funny", r"make me laugh")),
    ("bored", (r"bored", r"boring", r"nothing to do")),
    ("compliment", (r"awesome", r"great job", r"you rock", r"love you", r"amazing", r"brilliant", r"you'?re (?:great|cool|smart)",
                    r"good (?:bot|job)", r"well done")),
    ("greeting", (r"hello", r"hi", r"hey", r"hiya", r"howdy", r"greetings", r"yo", r"good (?:morning|afternoon|evening|day)",
                  r"what'?s up", r"sup", r"nice to meet you", r"hallo")),
]  # fmt: skip

REPLIES: dict[str, tuple[str, ...]] = {
    "greeting": (
        "{salute}! I'm FAME. Ask me to write code, check a crypto price, do some maths or search the web.",
        "{salute}! What can I do for you? Type **help** to see everything I can do.",
        "{salute} 👋 I'm ready — ask a question or say **what can you do**.",
    ),
    "how_are_you": (
        "All systems running, thanks for asking! What shall we work on?",
        "I'm doing well — {plugins} plugins loaded and waiting. How can I help?",
        "Fine, thank you! Ready for the next question.",
    ),
    "thanks": ("You're welcome!", "Glad I could help.", "Any time — ask if you need anything else."),
    "goodbye": (
        "Goodbye! Come back any time.",
        "See you later 👋",
        "Bye — everything you asked is in the audit log.",
    ),
    "compliment": ("Thank you, that's kind!", "Thanks! Happy to help.", "That made my day. What's next?"),
    "joke": (
        "Why do programmers prefer dark mode? Because light attracts bugs.",
        "There are 10 kinds of people: those who understand binary and those who don't.",
        "A SQL query walks into a bar, goes up to two tables and asks: 'Can I join you?'",
        "Why did the developer go broke? Because they used up all their cache.",
        "I would tell you a UDP joke, but you might not get it.",
    ),
    "bored": (
        "Let's fix that! Try **write a function that checks if a number is prime**, "
        "**what is 2 to the power of 64**, or **system status**.",
        "How about a puzzle: ask me **factorial of 20**, then ask me to **write a fibonacci function** and compare.",
    ),
}


SYSTEM_PROMPT = (
    "You are FAME, a helpful assistant running on the user's own computer. Answer clearly and "
    "concisely in the user's language. Use Markdown; put code in fenced code blocks."
)
MODEL_HINT = (
    "_To answer questions like this, FAME needs a language model: run `fame models list` and "
    "`fame models download <name>`, open Settings → Models, or point Settings → LLM at Ollama or "
    "LM Studio._"
)
ANSWER_TOKENS = 1024  # longest model answer (a few screens)
MODEL_KINDS = ("unknown", "greeting", "how_are_you", "thanks", "goodbye", "compliment", "joke", "bored")


def init(manager: PluginHost) -> None:
    """Keep the plugin context (no I/O here)."""
    _HOST.set(manager)


def classify(text: str) -> str:
    """The kind of chat ``text`` is (``greeting``, ``help``, ... or ``unknown``)."""
    lowered = text.lower().strip()
    for kind, patterns in KINDS:
        if any(re.search(rf"(?<![\w']){p}(?![\w'])", lowered) for p in patterns):
            return kind
    return "unknown"


def _pick(options: tuple[str, ...], text: str) -> str:
    # Deterministic per text (repeatable answers and tests) but varied across texts.
    return options[zlib.crc32(text.strip().lower().encode("utf-8")) % len(options)]


def _salute(now: datetime) -> str:
    if 5 <= now.hour < 12:
        return "Good morning"
    if 12 <= now.hour < 18:
        return "Good afternoon"
    if 18 <= now.hour < 23:
        return "Good evening"
    return "Hello"


def _loaded(plugins: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in plugins if p.get("status", "loaded") == "loaded" and p.get("name") != PLUGIN["name"]]


def help_text(plugins: list[dict[str, Any]], network_on: bool) -> str:
    """What FAME can do, from the plugins' own metadata."""
    loaded = _loaded(plugins)
    if not loaded:
        return (
            "I can chat, but no other plugins are loaded right now, so I can't do much else. "
            "Check the Plugins pane or `fame plugins` for what failed."
        )
    lines = ["Here's what I can do:"]
    for p in sorted(loaded, key=lambda p: str(p.get("name"))):
        notes = []
        if p.get("needs_network"):
            notes.append("needs the network" + ("" if network_on else ", which is off"))
        if p.get("admin_only"):
            notes.append("admin only")
        if p.get("dangerous"):
            notes.append("dangerous: disabled until an admin enables it")
        note = f" _({'; '.join(notes)})_" if notes else ""
        lines.append(f"\n**{p.get('name')}** — {p.get('description', '')}{note}")
        intents = p.get("intents") or {}
        for intent, examples in intents.items():
            shown = ", ".join(f"“{e}”" for e in list(examples)[:3])
            lines.append(f"- `{intent}`: {shown}" if shown else f"- `{intent}`")
    failed = [p for p in plugins if p.get("status") == "failed"]
    if failed:
        names = ", ".join(f"{p.get('name')} ({p.get('error') or 'unknown error'})" for p in failed)
        lines.append(f"\n⚠️ Not available because they failed to load: {names}.")
    lines.append("\nJust type what you want in plain words.")
    return "\n".join(lines)


def _identity(status: dict[str, Any]) -> str:
    version = status.get("version")
    plugins = status.get("plugins") or {}
    count = len(plugins.get("loaded") or [])
    bits = [f"I'm **FAME**{f' {version}' if version else ''}, a desktop assistant."]
    bits.append(
        "A Brain routes what you type or say to plugins"
        + (f" ({count} loaded)" if count else "")
        + "; generated code runs in a Docker sandbox and every query is written to a tamper-evident audit log."
    )
    bits.append("Say **help** to see what I can do.")
    return " ".join(bits)


def _fallback(text: str, plugins: list[dict[str, Any]]) -> str:
    examples: list[str] = []
    for p in _loaded(plugins):
        for phrases in (p.get("intents") or {}).values():
            if phrases:
                examples.append(str(next(iter(phrases))))
    shown = "\n".join(f"- “{e}”" for e in examples[:6])
    quoted = text.strip()[:80]
    return (
        f"I'm not sure what you mean by “{quoted}” — I don't have a plugin for that. "
        + (f"Here are things I can do:\n{shown}\n\n" if shown else "")
        + "Type **help** for the full list.\n\n"
        + MODEL_HINT
    )


async def _model_answer(host: PluginHost, request: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The model's answer, with the conversation so far as context; None when no model is set up."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += request_history(request)
    messages.append({"role": "user", "content": request_text(request)})
    try:
        answer = await host.chat_with_model(
            messages, query_id=query_id(request) or None, max_tokens=ANSWER_TOKENS
        )
    except ServiceUnavailable:
        return None
    text = str(answer.get("text", "")).strip()
    data: dict[str, Any] = {
        "kind": kind,
        "llm_backend": answer.get("backend"),
        "llm_model": answer.get("model"),
        "llm": answer.get("name"),
        "reason": answer.get("reason"),
        "usage": {
            "prompt_tokens": answer.get("prompt_tokens"),
            "completion_tokens": answer.get("completion_tokens"),
            "first_token_ms": answer.get("first_token_ms"),
            "tokens_per_s": answer.get("tokens_per_s"),
        },
    }
    if answer.get("reason") == "length":
        text += "\n\n_(The answer was cut off at the length limit: ask me to go on.)_"
    return {"response": text or "_(The model gave an empty answer.)_", "data": data}


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer a chat message."""
    host = _HOST.get()
    text = request_text(request)
    kind = classify(text)
    if kind in MODEL_KINDS:
        answered = await _model_answer(host, request, kind)
        if answered is not None:
            return answered
    data: dict[str, Any] = {"kind": kind}
    if kind == "help":
        plugins = host.list_plugins()
        data["plugins"] = [p.get("name") for p in _loaded(plugins)]
        return {"response": help_text(plugins, host.network_allowed), "data": data}
    if kind == "identity":
        return {"response": _identity(host.status() or {}), "data": data}
    if kind == "unknown":
        data["understood"] = False
        return {"response": _fallback(text, host.list_plugins()), "data": data}
    template = _pick(REPLIES[kind], text)
    count = (
        len(((host.status() or {}).get("plugins") or {}).get("loaded") or [])
        if "{plugins}" in template
        else 0
    )
    said = re.search(r"\bgood (morning|afternoon|evening|day)\b", text.lower())
    salute = f"Good {said.group(1)}" if said else _salute(datetime.now())
    reply = template.format(salute=salute, plugins=count or "all my")
    return {"response": reply, "data": data}
