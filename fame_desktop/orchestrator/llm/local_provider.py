"""The in-process backend: a GGUF model run by llama.cpp (``llama-cpp-python``) in this process.

:class:`LocalProvider` keeps the :class:`~fame_desktop.orchestrator.llm.base.LlmProvider` contract
of the HTTP backend. Generation runs on the loaded model's own thread, never on the event loop;
the binding releases the GIL inside llama.cpp, so the window stays responsive. The thread hands
text to the loop with ``loop.call_soon_threadsafe``; the loop side publishes it as
:class:`~fame_desktop.orchestrator.llm.events.LlmToken` events (pieces that arrived together go
out as one, so a fast model cannot flood the window) and ends with one
:class:`~fame_desktop.orchestrator.llm.events.LlmStreamEnded`.

Stopping: the loop side returns as soon as ``cancel`` is set (or its task is cancelled); the
thread sees the flag at its next token and stops, so the model is free a token later.

The prompt is the model's own chat template (from the GGUF metadata) applied to the messages, cut
to the context (:func:`~fame_desktop.orchestrator.llm.prompt_fit.fit_messages`): a long
conversation never fails, its oldest turns are left out. ``json_schema`` becomes a llama.cpp
grammar, so the output is JSON of that shape unless the token limit cut it off.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from fame_desktop.orchestrator.events import Event
from fame_desktop.orchestrator.llm.base import ChatMessage, Completion, JsonSchema, gather_pieces
from fame_desktop.orchestrator.llm.errors import LlmError
from fame_desktop.orchestrator.llm.events import LlmStreamEnded, LlmToken
from fame_desktop.orchestrator.llm.local_models import LoadedModel, LocalModels, LocalModelSpec
from fame_desktop.orchestrator.llm.prompt_fit import fit_messages

if TYPE_CHECKING:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

log = logging.getLogger("fame.llm.local")

BACKEND = "llama.cpp"
DEFAULT_ANSWER_TOKENS = 1024  # room kept for the answer when the caller sets no max_tokens
PREFILL_STEP = 64  # prompt tokens evaluated between two looks at the stop flag
# A JSON string character as llama.cpp's json-schema-to-grammar has it: no ", \\ or control characters.
STRICT_CHAR_RULE = (
    r'char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
)
_CHAR_RULE = re.compile(r"^char ::= .*$", re.MULTILINE)
# Used when a GGUF file carries no chat template: ChatML, the most common instruct format.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass
class Usage:
    """What one completion cost and how it ended (filled in by the model's thread)."""

    reason: str = "error"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dropped_messages: int = 0


@dataclass(frozen=True)
class _Job:
    messages: tuple[ChatMessage, ...]
    temperature: float
    max_tokens: int | None
    stop: tuple[str, ...]
    json_schema: JsonSchema | None
    seed: int
    halt: threading.Event
    send: Callable[[tuple[str, Any]], None]
    usage: Usage = field(default_factory=Usage)


class ChatTemplate:
    """The model's chat template, rendered with the binding's Jinja formatter.

    Args:
        model: The loaded model (its metadata gives the template and special tokens).
    """

    def __init__(self, model: LoadedModel) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama = model.llama
        template = model.metadata("tokenizer.chat_template") or CHATML_TEMPLATE

        def text_of(token: int) -> str:
            if token < 0:
                return ""
            return str(llama.detokenize([token], special=True).decode("utf-8", "replace"))

        self._formatter: Jinja2ChatFormatter = Jinja2ChatFormatter(
            template=template, eos_token=text_of(llama.token_eos()), bos_token=text_of(llama.token_bos())
        )
        self._llama = llama

    def render(self, messages: Sequence[ChatMessage]) -> tuple[str, list[str], bool]:
        """The prompt text, its stop strings, and whether it holds the BOS token already."""
        wire: list[dict[str, str]] = [m.to_dict() for m in messages]
        try:
            result = self._formatter(messages=cast(Any, wire))
        except Exception as exc:
            # Some templates (Gemma's) refuse a system role: fold it into the first user turn.
            if not any(m.role == "system" for m in messages):
                raise LlmError(f"The model's chat template failed: {exc}.") from exc
            result = self._formatter(messages=cast(Any, _fold_system(messages)))
        stops = [s for s in ([result.stop] if isinstance(result.stop, str) else result.stop or []) if s]
        return result.prompt, stops, bool(result.added_special)

    def tokens(self, messages: Sequence[ChatMessage]) -> tuple[list[int], list[str]]:
        """The prompt's tokens and its stop strings."""
        prompt, stops, added_special = self.render(messages)
        tokens = self._llama.tokenize(prompt.encode("utf-8"), add_bos=not added_special, special=True)
        return list(tokens), stops


def _fold_system(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    rest = [m.to_dict() for m in messages if m.role != "system"]
    for m in rest:
        if m["role"] == "user":
            m["content"] = f"{system}\n\n{m['content']}"
            break
    return rest


def _template(model: LoadedModel) -> ChatTemplate:
    template = model.chat_template
    if not isinstance(template, ChatTemplate):
        template = model.chat_template = ChatTemplate(model)  # made once per loaded model
    return template


def _generate(model: LoadedModel, job: _Job) -> None:
    """Run one completion on the model's thread, sending ``("text", str)`` pieces, then the end."""
    usage = job.usage
    if job.halt.is_set():  # stopped while it waited for the model
        usage.reason = "cancelled"
        job.send(("end", usage))
        return
    try:
        _run(model, job)
    except LlmError as exc:
        job.send(("error", exc))
        return
    except Exception as exc:  # llama.cpp reports decode failures as ValueError/RuntimeError
        log.exception("local completion failed")
        job.send(("error", LlmError(f"The local model {model.name} failed: {exc}.", "Retry; if it "
                                    "keeps failing, lower llm.context_size or choose another model.")))  # fmt: skip
        return
    job.send(("end", usage))


def _run(model: LoadedModel, job: _Job) -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    llama = model.llama
    usage = job.usage
    template = _template(model)
    ctx = model.context_size
    reserve = min(job.max_tokens or DEFAULT_ANSWER_TOKENS, ctx // 2)
    kept, _ = fit_messages(job.messages, lambda ms: len(template.tokens(ms)[0]), ctx - reserve)
    usage.dropped_messages = len(job.messages) - len(kept)
    tokens, stops = template.tokens(kept)
    if len(tokens) >= ctx - 1:  # a single huge message that even cutting could not fit
        tokens = tokens[-(ctx - reserve) :]
    usage.prompt_tokens = len(tokens)
    room = ctx - len(tokens) - 1
    max_tokens = min(job.max_tokens, room) if job.max_tokens else room
    grammar = None
    if job.json_schema is not None:
        try:
            grammar = LlamaGrammar.from_string(schema_grammar(job.json_schema), verbose=False)
        except Exception as exc:
            raise LlmError(
                f"The JSON schema cannot be turned into a llama.cpp grammar: {exc}.",
                "Simplify the schema (objects, arrays, strings, numbers, enums).",
            ) from exc

    if usage.dropped_messages:
        log.info("prompt trimmed to the context: %d older messages left out", usage.dropped_messages)
    if not _prefill(llama, tokens, job.halt):
        usage.reason = "cancelled"
        return
    usage.reason = _sample(llama, tokens, job, max_tokens, [*stops, *job.stop], grammar)


def _sample(llama: Any, tokens: list[int], job: _Job, max_tokens: int, stops: list[str], grammar: Any) -> str:
    """Generate up to ``max_tokens`` tokens, sending the text as it becomes final; the finish reason.

    The text is decoded incrementally (a character split over several byte tokens waits for its
    last byte; invalid UTF-8 becomes U+FFFD), and any end of it that could be the start of a stop
    sequence is held back until the next token decides. Each token costs the same, however long
    the answer (the binding's own streaming decodes the whole answer again at every token, and a
    byte it cannot decode held everything after it back).
    """
    import llama_cpp

    vocab = getattr(getattr(llama, "_model", None), "vocab", None)

    def ends_turn(token: int) -> bool:
        if vocab is not None:
            return bool(llama_cpp.llama_vocab_is_eog(vocab, token))
        return bool(token == llama.token_eos())

    usage = job.usage
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    llama.set_seed(job.seed)
    finish = "length"
    for token in llama.generate(
        tokens, temp=job.temperature, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0, grammar=grammar
    ):
        if job.halt.is_set():
            return "cancelled"
        if ends_turn(token):
            finish = "stop"
            break
        usage.completion_tokens += 1
        pending += decoder.decode(llama.detokenize([token]))
        cut = _first_stop(pending, stops)
        if cut is not None:
            if cut:
                job.send(("text", pending[:cut]))
            return "stop"
        hold = _stop_prefix_len(pending, stops)
        if len(pending) > hold:
            job.send(("text", pending[: len(pending) - hold]))
            pending = pending[len(pending) - hold :]
        if usage.completion_tokens >= max_tokens:
            break
    pending += decoder.decode(b"", final=True)
    if pending:
        job.send(("text", pending))
    return finish


def _first_stop(text: str, stops: list[str]) -> int | None:
    """Where the first stop sequence in ``text`` starts (None: none)."""
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(found) if found else None


def _stop_prefix_len(text: str, stops: list[str]) -> int:
    """Length of the longest end of ``text`` that a stop sequence starts with (to hold back)."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if stop.startswith(text[-n:]):
                longest = n
                break
    return longest


def schema_grammar(schema: JsonSchema) -> str:
    """The GBNF grammar of JSON matching ``schema`` (strings hold no raw control characters).

    The binding's converter lets a string hold any character but ``"`` and ``\\``, control
    characters included, which JSON forbids: a model writing a raw tab or byte ``0x16`` inside a
    string would produce text no JSON parser reads. Its ``char`` rule is replaced by llama.cpp's
    own strict one.
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    grammar = json_schema_to_gbnf(json.dumps(dict(schema)))
    return _CHAR_RULE.sub(lambda _m: STRICT_CHAR_RULE, grammar)


def _prefill(llama: Any, tokens: list[int], halt: threading.Event) -> bool:
    """Evaluate the prompt (all but its last token) in small batches, checking ``halt`` between them.

    llama.cpp cannot be interrupted inside one batch, and a long prompt on a laptop CPU takes
    seconds: in steps of :data:`PREFILL_STEP` tokens a stop frees the model within one step. The
    part a previous completion left in the cache (the conversation so far) is not evaluated again;
    ``generate`` then finds the prompt cached and evaluates only its last token.

    Returns:
        False when ``halt`` was set before the prompt was in.
    """
    if getattr(llama, "_is_recurrent", False) or getattr(llama, "_is_hybrid", False):
        return not halt.is_set()  # their state cannot be cut back to a prefix: let llama.cpp do it
    ids = llama.input_ids
    end = len(tokens) - 1
    prefix, limit = 0, min(int(llama.n_tokens), end)
    while prefix < limit and int(ids[prefix]) == tokens[prefix]:
        prefix += 1
    llama.n_tokens = prefix  # eval() drops the cache beyond this point
    for start in range(prefix, end, PREFILL_STEP):
        if halt.is_set():
            return False
        llama.eval(tokens[start : min(start + PREFILL_STEP, end)])
    return not halt.is_set()


class LocalProvider:
    """A GGUF model run in this process by llama.cpp.

    Args:
        spec: The model file and its load parameters.
        models: The shared cache of loaded models (built once by the composition root).
        publish: Event sink (``EventBus.publish``); tokens and stream ends are published.
    """

    def __init__(
        self,
        spec: LocalModelSpec,
        models: LocalModels,
        *,
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.spec = spec
        self._models = models
        self._publish = publish

    @property
    def name(self) -> str:
        """``model (local)`` for answers and the status bar."""
        return f"{self.model} (local)"

    @property
    def backend(self) -> str:
        """Always ``llama.cpp``."""
        return BACKEND

    @property
    def model(self) -> str:
        """The model file's name without ``.gguf``."""
        return self.spec.path.stem

    @property
    def context_size(self) -> int:
        """The context the model is loaded with."""
        return self.spec.context_size

    async def load(self) -> LoadedModel:
        """Load the model now (off the event loop) if it is not loaded yet.

        Raises:
            LlmError: The file is missing or invalid, or llama.cpp could not load it.
        """
        return await self._models.get(self.spec)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        json_schema: JsonSchema | None = None,
        query_id: str | None = None,
        cancel: asyncio.Event | None = None,
        stream_id: str | None = None,
    ) -> AsyncIterator[str]:
        """Yield the model's text piece by piece; stops quietly when ``cancel`` is set.

        Close the iterator when leaving it early (``contextlib.aclosing``): that stops the model.

        Raises:
            LlmError: The model could not be loaded, or generation failed.
        """
        return self._stream(
            messages,
            Usage(),
            temperature=temperature,
            max_tokens=max_tokens,
            stop=stop,
            json_schema=json_schema,
            query_id=query_id,
            cancel=cancel,
            stream_id=stream_id,
        )

    async def _stream(
        self,
        messages: Sequence[ChatMessage],
        usage: Usage,
        *,
        temperature: float,
        max_tokens: int | None,
        stop: Sequence[str],
        json_schema: JsonSchema | None,
        query_id: str | None,
        cancel: asyncio.Event | None,
        stream_id: str | None,
    ) -> AsyncGenerator[str, None]:
        sid = stream_id or uuid.uuid4().hex[:12]
        qid = query_id or ""
        count = 0
        reason = "error"
        detail = ""
        halt = threading.Event()
        watcher: asyncio.Future[Any] | None = None
        model: LoadedModel | None = None
        try:
            model = await self._models.get(self.spec)
            model.users += 1
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

            def send(item: tuple[str, Any]) -> None:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                except RuntimeError:  # the loop closed (the app is exiting): stop generating
                    halt.set()

            job = _Job(
                messages=tuple(messages),
                temperature=temperature,
                max_tokens=max_tokens,
                stop=tuple(stop),
                json_schema=json_schema,
                seed=self.spec.seed if self.spec.seed is not None else random.getrandbits(31),
                halt=halt,
                send=send,
                usage=usage,
            )
            if cancel is not None:
                watcher = asyncio.ensure_future(cancel.wait())
                watcher.add_done_callback(lambda _: queue.put_nowait(("cancel", None)))
            log.info("completion: model=%s messages=%d", self.model, len(messages))
            model.executor.submit(_generate, model, job)
            while True:
                items = [await queue.get()]
                while not queue.empty():
                    items.append(queue.get_nowait())
                pieces = [str(payload) for kind, payload in items if kind == "text"]
                ended = next(((k, p) for k, p in items if k != "text"), None)
                if pieces:
                    text = "".join(pieces)
                    self._emit(
                        LlmToken(
                            query_id=qid,
                            stream_id=sid,
                            index=count,
                            text=text,
                            backend=BACKEND,
                            model=self.model,
                        )
                    )
                    count += 1
                    yield text
                if ended is None:
                    continue
                kind, payload = ended
                if kind == "error":
                    raise payload
                reason = "cancelled" if kind == "cancel" else usage.reason
                break
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        except LlmError as exc:
            detail = exc.message
            raise
        finally:
            halt.set()  # the model's thread stops at its next token
            if watcher is not None:
                watcher.cancel()
            if model is not None:
                model.users -= 1
            usage.reason = reason
            self._emit(
                LlmStreamEnded(query_id=qid, stream_id=sid, reason=reason, tokens=count, detail=detail)
            )

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
        json_schema: JsonSchema | None = None,
        query_id: str | None = None,
        cancel: asyncio.Event | None = None,
    ) -> Completion:
        """Generate a whole completion and return it (tokens are published as they arrive).

        Cancelling the calling task stops the model at its next token.

        Raises:
            LlmError: As :meth:`stream`.
        """
        sid = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        usage = Usage()
        pieces = self._stream(
            messages,
            usage,
            temperature=temperature,
            max_tokens=max_tokens,
            stop=stop,
            json_schema=json_schema,
            query_id=query_id,
            cancel=cancel,
            stream_id=sid,
        )
        parts, first = await gather_pieces(pieces, started)
        return Completion(
            text="".join(parts),
            reason=usage.reason,
            tokens=len(parts),
            duration_s=time.perf_counter() - started,
            first_token_s=first,
            stream_id=sid,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            backend=BACKEND,
            model=self.model,
        )

    def _emit(self, event: Event) -> None:
        if self._publish is not None:
            self._publish(event)
