"""Preparing the sandbox image: pull its base with progress when missing, then build it.

The sandbox image (setting ``sandbox.image``) is built from ``resources/sandbox/`` on top of the
base (``sandbox.base_image``, ``python:3.11-slim`` by default), exactly as
``scripts/build_sandbox_image.sh`` does: the base is a build arg, and a label holds a hash of the
build context and the base image id so an up-to-date image is never rebuilt. The script stays the
offline route (it can make a base with debootstrap); this module is what the app and ``fame sandbox
prepare`` use, over the engine's own streaming pull and build, so the user sees progress.

Blocking: :meth:`ImagePreparer.prepare` is meant for a worker thread. It never raises for Docker or
registry problems; the :class:`PrepareResult` says what happened, with the fix.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.events import SandboxImageProgress
from fame_desktop.orchestrator.paths import resource_root
from fame_desktop.orchestrator.sandbox.engine import Engine, short_error
from fame_desktop.orchestrator.sandbox.fix_hints import build_fix, engine_fix, pull_fix

log = logging.getLogger("fame.sandbox")

HASH_LABEL = "fame.sandbox.hash"
BASE_LABEL = "fame.sandbox.base"
# Share of the bar the pull takes when both steps run: the pull moves far more bytes than the build.
PULL_SHARE = 0.8
# Progress goes out at most this often (a big pull sends thousands of messages), plus every change
# of step and the end.
_PUBLISH_EVERY_S = 0.1
_STEP = re.compile(r"^Step (\d+)/(\d+)")

Progress = Callable[[SandboxImageProgress], None]


def sandbox_context() -> Path:
    """The build context of the sandbox image: ``resources/sandbox/``."""
    return resource_root() / "sandbox"


def context_hash(context: Path, base_id: str) -> str:
    """The ``fame.sandbox.hash`` label: the one ``scripts/build_sandbox_image.sh`` computes.

    sha256 over the context's regular files (not hidden, in byte order of their names, contents
    concatenated) followed by the base image id and a newline; the first 32 hex digits.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in context.iterdir() if p.is_file() and not p.name.startswith(".")):
        digest.update(path.read_bytes())
    digest.update(f"{base_id}\n".encode())
    return digest.hexdigest()[:32]


@dataclass
class PrepareResult:
    """What :meth:`ImagePreparer.prepare` did.

    Attributes:
        status: ``ok``, ``unavailable`` (engine or base image out of reach), ``cancelled`` or ``error``.
        image: The sandbox image.
        base_image: The base it is (or would be) built on.
        detail: A sentence for a person; ends with ``Fix: ...`` when something is wrong.
        pulled: Whether the base was pulled.
        built: Whether the sandbox image was built.
        duration_ms: Wall time.
        nodes: On a cluster, the image on each node (``node``, ``status``, ``detail``, ``ready``).
    """

    status: str
    image: str
    base_image: str
    detail: str
    pulled: bool = False
    built: bool = False
    duration_ms: float = 0.0
    nodes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return asdict(self)


class _Failed(Exception):
    """A step failed; carries the result's status and detail."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Cancelled(_Failed):
    """Stopped on request."""

    def __init__(self) -> None:
        super().__init__("cancelled", "Stopped on request; the sandbox image was not changed.")


class PullProgress:
    """Turns the engine's pull messages into one fraction, 0..1, that never goes back.

    Each layer counts by its size (the mean size of the known layers until its own is known), half
    for downloading and half for extracting.
    """

    def __init__(self) -> None:
        self._layers: dict[str, list[float]] = {}  # id -> [downloaded, extracted, total bytes]
        self._fraction = 0.0

    def update(self, message: dict[str, Any]) -> float:
        """Account for one message of ``api.pull(..., decode=True)``; the fraction so far."""
        layer = message.get("id")
        status = str(message.get("status", ""))
        if not layer or status.startswith("Pulling from"):
            return self._fraction
        state = self._layers.setdefault(str(layer), [0.0, 0.0, 0.0])
        detail = message.get("progressDetail") or {}
        current, total = detail.get("current"), detail.get("total")
        part = min(current / total, 1.0) if current is not None and total else None
        if total:
            state[2] = float(total)
        if status == "Downloading" and part is not None:
            state[0] = part
        elif status in ("Verifying Checksum", "Download complete"):
            state[0] = 1.0
        elif status == "Extracting":
            state[0] = 1.0
            if part is not None:
                state[1] = part
        elif status in ("Pull complete", "Already exists"):
            state[0] = state[1] = 1.0
        known = [s[2] for s in self._layers.values() if s[2]]
        fallback = sum(known) / len(known) if known else 1.0
        weights = [(s[2] or fallback, (s[0] + s[1]) / 2) for s in self._layers.values()]
        fraction = sum(w * f for w, f in weights) / sum(w for w, _ in weights)
        self._fraction = max(self._fraction, min(fraction, 1.0))
        return self._fraction


class _Reporter:
    """Publishes progress events, rate-limited, never backwards."""

    def __init__(self, image: str, progress: Progress) -> None:
        self._image = image
        self._progress = progress
        self._last = (-1.0, "", 0.0)  # fraction, stage, time

    def __call__(self, stage: str, fraction: float, message: str, *, force: bool = False) -> None:
        last_fraction, last_stage, last_time = self._last
        fraction = max(fraction, last_fraction, 0.0)
        now = time.monotonic()
        if (
            not force
            and stage == last_stage
            and (fraction <= last_fraction or now - last_time < _PUBLISH_EVERY_S)
        ):
            return
        self._last = (fraction, stage, now)
        self._progress(
            SandboxImageProgress(image=self._image, stage=stage, fraction=round(fraction, 4), message=message)
        )


class ImagePreparer:
    """Pulls the base (when missing) and builds the sandbox image (when missing or stale).

    Args:
        engine: The engine to prepare the image on (its address and ``image`` are used; the pull
            and build go over a connection of their own, so cancelling closes only that).
        base_image: The base image reference (``sandbox.base_image``).
        context: The build context (default ``resources/sandbox/``).
    """

    def __init__(self, engine: Engine, base_image: str, context: Path | None = None) -> None:
        self.engine = engine
        self.image = engine.image
        self.base_image = base_image
        self.context = context or sandbox_context()

    def prepare(self, progress: Progress, cancel: threading.Event) -> PrepareResult:
        """Make the sandbox image present and current; never raises for engine or registry problems.

        Args:
            progress: Called (in this thread) with each :class:`SandboxImageProgress`.
            cancel: Set it to stop: the pull or build is aborted and the result says ``cancelled``.
        """
        started = time.monotonic()
        result = PrepareResult("ok", self.image, self.base_image, "")
        report = _Reporter(self.image, progress)
        try:
            client = self.engine.new_client()
        except Exception as exc:
            result.status = "unavailable"
            result.detail = f"Docker is not reachable at {self.engine.where} ({short_error(exc)}). Fix: {engine_fix(str(exc))}"
        else:
            try:
                self._prepare(client.api, result, report, cancel)
            except _Failed as failed:
                result.status, result.detail = failed.status, failed.detail
            finally:
                client.close()
        result.duration_ms = round((time.monotonic() - started) * 1000, 2)
        stage = "done" if result.status == "ok" else result.status
        report(stage, 1.0 if result.status == "ok" else 0.0, result.detail, force=True)
        log.info("prepare %s: %s (%s)", self.image, result.status, result.detail)
        return result

    def _prepare(self, api: Any, result: PrepareResult, report: _Reporter, cancel: threading.Event) -> None:
        base_id = _image_id(api, self.base_image)
        current = _image_labels(api, self.image)
        if current is not None and (
            base_id is None or current.get(HASH_LABEL) == context_hash(self.context, base_id)
        ):
            # Present and current, or present while its base is not here to compare with: usable.
            built_on = current.get(BASE_LABEL) or "an unknown base"
            result.detail = f"The sandbox image {self.image} is ready (built on {built_on})."
            return
        pull_share = 0.0
        if base_id is None:
            pull_share = PULL_SHARE
            self._pull(api, report, cancel)
            result.pulled = True
            base_id = _image_id(api, self.base_image)
            if base_id is None:
                raise _Failed(
                    "unavailable", f"The pull of {self.base_image} ended without the image. Fix: {pull_fix()}"
                )
        self._build(api, base_id, pull_share, report, cancel)
        result.built = True
        pulled = f"Pulled {self.base_image} and built" if result.pulled else "Built"
        result.detail = f"{pulled} {self.image} on {self.base_image}."

    def _pull(self, api: Any, report: _Reporter, cancel: threading.Event) -> None:
        from docker.utils import parse_repository_tag  # the Docker SDK loads on first use, not at start-up

        repo, tag = parse_repository_tag(self.base_image)
        tag = tag or "latest"  # no tag would pull every tag of the repository
        what = f"Pulling {self.base_image}"
        report("pull", 0.0, f"{what}...", force=True)
        tracker = PullProgress()
        try:
            with closing(
                _stream(api, lambda: api.pull(repo, tag, stream=True, decode=True), cancel)
            ) as messages:
                for message in messages:
                    if "error" in message:
                        raise _Failed("unavailable", self._pull_error(str(message["error"])))
                    fraction = tracker.update(message)
                    report("pull", fraction * PULL_SHARE, f"{what}: {fraction:.0%}")
        except _Failed:  # includes a cancel
            raise
        except Exception as exc:
            raise _Failed("unavailable", self._pull_error(_api_error(exc))) from exc

    def _pull_error(self, reason: str) -> str:
        return f"Cannot pull the base image {self.base_image} ({reason}). Fix: {pull_fix()}"

    def _build(
        self, api: Any, base_id: str, start: float, report: _Reporter, cancel: threading.Event
    ) -> None:
        span = 1.0 - start
        report("build", start, f"Building {self.image} on {self.base_image}...", force=True)
        labels = {HASH_LABEL: context_hash(self.context, base_id), BASE_LABEL: self.base_image}
        last_line = ""

        def start_build() -> Iterator[dict[str, Any]]:
            return api.build(  # type: ignore[no-any-return]
                path=str(self.context), tag=self.image, buildargs={"BASE": self.base_image}, labels=labels,
                rm=True, forcerm=True, pull=False, decode=True,
                # No step may download (the offline promise), and with no network the build does
                # not depend on the engine's default bridge.
                network_mode="none",
            )  # fmt: skip

        try:
            with closing(_stream(api, start_build, cancel)) as messages:
                for message in messages:
                    if "error" in message:
                        raise _Failed(
                            "error",
                            f"Building {self.image} failed ({str(message['error']).strip()[:300]}). Fix: {build_fix()}",
                        )
                    line = str(message.get("stream", "")).strip()
                    if not line:
                        continue
                    last_line = line
                    step = _STEP.match(line)
                    if step:
                        done, total = int(step.group(1)) - 1, int(step.group(2))
                        report("build", start + span * done / total, f"Building {self.image}: {line[:120]}")
        except _Failed:  # includes a cancel
            raise
        except Exception as exc:
            raise _Failed(
                "error", f"Building {self.image} failed ({_api_error(exc)}). Fix: {build_fix()}"
            ) from exc
        if _image_labels(api, self.image) is None:
            raise _Failed(
                "error",
                f"Building {self.image} ended without the image ({last_line[:200]}). Fix: {build_fix()}",
            )


def _stream(
    api: Any, start: Callable[[], Iterator[dict[str, Any]]], cancel: threading.Event
) -> Generator[dict[str, Any], None, None]:
    """The messages of a streaming engine call, aborted when ``cancel`` is set.

    A watcher shuts the HTTP response's socket down on cancel: that wakes a read blocked on a stalled
    registry, and the closed connection makes the engine stop the pull or build.
    """
    if cancel.is_set():
        raise _Cancelled()
    responses: list[Any] = []

    def keep(response: Any, *args: Any, **kwargs: Any) -> None:
        responses.append(response)

    api.hooks["response"].append(keep)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            if cancel.is_set():
                for response in responses:
                    _abort(response)
                return

    watcher = threading.Thread(target=watch, name="fame-sandbox-image-cancel", daemon=True)
    watcher.start()
    try:
        for message in start():
            if cancel.is_set():
                raise _Cancelled()
            yield message
    except _Failed:
        raise
    except Exception:
        if cancel.is_set():
            raise _Cancelled() from None
        raise
    finally:
        done.set()
        watcher.join(5)
        api.hooks["response"].remove(keep)
        for response in responses:
            _abort(response)
    if cancel.is_set():
        raise _Cancelled()


def _abort(response: Any) -> None:
    """Close a streaming response from any thread (``shutdown`` first: it wakes a blocked read)."""
    shutdown = getattr(response.raw, "shutdown", None)
    try:
        if shutdown is not None:
            shutdown()
        response.close()
    except Exception as exc:  # already closed
        log.debug("closing a stream: %s", exc)


def _api_error(exc: BaseException) -> str:
    """The engine's own words for a failed call (``APIError.explanation``) or the exception's."""
    explanation = getattr(exc, "explanation", None)
    return str(explanation).strip()[:300] if explanation else short_error(exc)


def _inspect(api: Any, ref: str) -> dict[str, Any] | None:
    """``inspect_image`` of ``ref``; None when the engine has no such image."""
    from docker.errors import ImageNotFound  # the Docker SDK loads on first use, not at start-up

    try:
        return dict(api.inspect_image(ref))
    except ImageNotFound:
        return None
    except Exception as exc:
        raise _Failed(
            "unavailable", f"Docker failed to inspect {ref} ({_api_error(exc)}). Fix: {engine_fix(str(exc))}"
        ) from exc


def _image_id(api: Any, ref: str) -> str | None:
    info = _inspect(api, ref)
    return None if info is None else str(info["Id"])


def _image_labels(api: Any, ref: str) -> dict[str, str] | None:
    """The labels of image ``ref`` (an empty dict when it has none); None when it is missing."""
    info = _inspect(api, ref)
    return None if info is None else dict((info.get("Config") or {}).get("Labels") or {})
