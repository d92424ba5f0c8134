"""Preparing the sandbox image for real: the engine pulls the base from a registry on 127.0.0.1
(``fake_registry``), with progress, then builds the sandbox image on it; errors and cancel.

Every image made here has a unique tag and is removed afterwards (``fame-sandbox:latest``, which
the other tests use, is never touched).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_registry import FakeRegistry, SavedImage

from fame_desktop.orchestrator.events import SandboxImageProgress, SandboxStatusChanged
from fame_desktop.orchestrator.sandbox.images import (
    BASE_LABEL,
    HASH_LABEL,
    PullProgress,
    context_hash,
    sandbox_context,
)
from fame_desktop.orchestrator.settings import SettingsStore

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
FAME = REPO / ".venv" / "bin" / "fame"
OFFLINE_BASE = "fame-sandbox-base:bookworm"
NAME = "fame-test/python"
TAG = "3.11-slim"


def _local_base(client: Any) -> str:
    """The base image the build script used here (the offline one, or whatever it recorded)."""
    try:
        client.api.inspect_image(OFFLINE_BASE)
        return OFFLINE_BASE
    except Exception:
        labels = client.api.inspect_image("fame-sandbox:latest")["Config"]["Labels"] or {}
        return str(labels[BASE_LABEL])


@pytest.fixture(scope="session")
def saved_base(engine_ready: None, tmp_path_factory: pytest.TempPathFactory) -> SavedImage:
    """The local base image, ``docker save``d and read back (its layers gzipped once per session)."""
    import docker

    client = docker.from_env(version="auto")
    try:
        tar = tmp_path_factory.mktemp("saved") / "base.tar"
        with tar.open("wb") as f:
            for chunk in client.api.get_image(_local_base(client)):
                f.write(chunk)
    finally:
        client.close()
    image = SavedImage.from_tar(tar)
    tar.unlink()
    return image


@pytest.fixture
def registry(saved_base: SavedImage) -> Iterator[Callable[..., FakeRegistry]]:
    """``registry(rate=None)``: a started fake registry serving the base as ``fame-test/python:3.11-slim``."""
    made: list[FakeRegistry] = []

    def start(rate: float | None = None) -> FakeRegistry:
        made.append(FakeRegistry(saved_base, NAME, TAG, rate=rate))
        return made[-1]

    yield start
    for server in made:
        server.close()


def remove_image_tree(client: Any, ref: str) -> None:
    """Remove image ``ref`` and every image built on it (a failed build leaves its step images)."""
    try:
        root = client.api.inspect_image(ref)["Id"]
    except Exception as exc:
        if type(exc).__name__ == "ImageNotFound":
            return
        raise
    children: dict[str, list[str]] = {}
    for info in client.api.images(all=True):
        children.setdefault(info.get("ParentId") or "", []).append(info["Id"])
    order: list[str] = []

    def visit(image: str) -> None:
        for child in children.get(image, []):
            visit(child)
        order.append(image)  # children first: an image with children cannot be removed

    visit(root)
    for image in order:
        client.api.remove_image(image, force=True, noprune=True)


@pytest.fixture
async def scratch_images(docker_client: Any, make_manager: Any) -> AsyncIterator[list[str]]:
    """Image references a test creates; removed afterwards with everything built on them.

    The test's managers are closed first: a run's container is removed in the background, and
    the engine refuses to remove an image a container still uses.
    """
    refs: list[str] = []
    yield refs
    await make_manager.close()
    for ref in refs:
        remove_image_tree(docker_client, ref)


def _has_image(client: Any, ref: str) -> bool:
    try:
        client.api.inspect_image(ref)
        return True
    except Exception as exc:
        if type(exc).__name__ == "ImageNotFound":
            return False
        raise


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _unique_image() -> str:
    return f"fame-sandbox:prep-{uuid.uuid4().hex[:10]}"


def test_pull_progress_counts_download_and_extraction_by_layer_size() -> None:
    tracker = PullProgress()
    assert tracker.update({"status": "Pulling from fame-test/python", "id": TAG}) == 0.0
    tracker.update({"status": "Pulling fs layer", "progressDetail": {}, "id": "a"})
    tracker.update({"status": "Pulling fs layer", "progressDetail": {}, "id": "b"})
    half = tracker.update(
        {"status": "Downloading", "progressDetail": {"current": 300, "total": 300}, "id": "a"}
    )
    assert half == pytest.approx(0.25)  # a: downloaded (half of its share); b: unknown size, same weight
    tracker.update({"status": "Downloading", "progressDetail": {"current": 50, "total": 100}, "id": "b"})
    assert tracker.update({"status": "Pull complete", "progressDetail": {}, "id": "a"}) == pytest.approx(
        (300 * 1.0 + 100 * 0.25) / 400
    )
    assert tracker.update({"status": "Already exists", "progressDetail": {}, "id": "b"}) == 1.0
    assert tracker.update({"status": "Digest: sha256:00"}) == 1.0


def test_the_label_hash_is_the_build_scripts(docker_client: Any) -> None:
    labels = docker_client.api.inspect_image("fame-sandbox:latest")["Config"]["Labels"]
    base_id = docker_client.api.inspect_image(labels[BASE_LABEL])["Id"]
    assert labels[HASH_LABEL] == context_hash(sandbox_context(), base_id)


@pytest.mark.slow
async def test_prepare_pulls_the_base_with_progress_builds_and_the_image_runs(
    make_manager: Any, registry: Any, docker_client: Any, scratch_images: list[str]
) -> None:
    server = registry()
    image = _unique_image()
    scratch_images += [image, server.reference]
    manager = await make_manager(image=image, base_image=server.reference, pool_size=0)
    before = await manager.run("print(1)")
    assert before.status == "unavailable" and "fame sandbox prepare" in before.detail
    on_bus: list[SandboxImageProgress] = []
    statuses: list[SandboxStatusChanged] = []
    manager.bus.subscribe(SandboxImageProgress, on_bus.append)
    manager.bus.subscribe(SandboxStatusChanged, statuses.append)
    seen: list[SandboxImageProgress] = []

    result = await manager.prepare_image(progress=seen.append)
    await asyncio.sleep(0.05)  # deliveries from the worker thread reach the loop

    assert result.status == "ok" and result.pulled and result.built, result.detail
    assert result.detail == f"Pulled {server.reference} and built {image} on {server.reference}."
    fractions = [e.fraction for e in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and seen[-1].stage == "done"
    pulling = [e.fraction for e in seen if e.stage == "pull"]
    assert len(pulling) >= 3 and any(0.0 < f < 0.8 for f in pulling), pulling  # live, not one jump
    assert [e.stage for e in seen if e.stage == "build"] and on_bus == seen
    assert statuses and statuses[-1].available is True and statuses[-1].image == image
    assert any(r.startswith("GET /v2/fame-test/python/blobs/") for r in server.requests)
    base_id = docker_client.api.inspect_image(server.reference)["Id"]
    labels = docker_client.api.inspect_image(image)["Config"]["Labels"]
    assert labels[HASH_LABEL] == context_hash(sandbox_context(), base_id)
    assert labels[BASE_LABEL] == server.reference

    report = await manager.run("import sys\nprint('in the new image', sys.version_info[:2])")
    assert report.status == "ok" and report.image == image and report.backend == "docker"
    assert report.stdout == "in the new image (3, 11)\n"
    again = await manager.prepare_image()
    assert again.status == "ok" and not again.pulled and not again.built and "ready" in again.detail


@pytest.mark.parametrize("where", ["unknown tag", "closed port"])
async def test_a_base_that_cannot_be_pulled_is_unavailable_with_the_fix(
    make_manager: Any, registry: Any, docker_client: Any, scratch_images: list[str], where: str
) -> None:
    if where == "unknown tag":
        base, reason = f"127.0.0.1:{registry().port}/{NAME}:no-such-tag", "manifest unknown"
    else:
        base, reason = f"127.0.0.1:{_closed_port()}/{NAME}:{TAG}", "connection refused"
    image = _unique_image()
    scratch_images += [image, base]
    manager = await make_manager(image=image, base_image=base, pool_size=0)
    seen: list[SandboxImageProgress] = []
    started = time.monotonic()
    result = await manager.prepare_image(progress=seen.append)
    assert time.monotonic() - started < 30
    assert result.status == "unavailable" and not result.built, result
    assert result.detail.startswith(f"Cannot pull the base image {base} (")
    assert reason in result.detail and "Fix:" in result.detail and "build_sandbox_image.sh" in result.detail
    assert seen[-1].stage == "unavailable" and seen[-1].message == result.detail
    assert not _has_image(docker_client, image) and not _has_image(docker_client, base)
    status = manager.status()
    assert status["available"] is False and "Fix:" in status["detail"]


@pytest.mark.slow
async def test_cancel_stops_the_pull_and_leaves_nothing(
    make_manager: Any, registry: Any, docker_client: Any, scratch_images: list[str]
) -> None:
    server = registry(rate=4_000_000)  # about 18 s for the layer: time to cancel in the middle
    image = _unique_image()
    scratch_images += [image, server.reference]
    manager = await make_manager(image=image, base_image=server.reference, pool_size=0)
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def progress(event: SandboxImageProgress) -> None:
        if event.stage == "pull" and event.fraction > 0.05 and not cancel.is_set():
            cancelled_at.append(time.monotonic())
            cancel.set()

    result = await manager.prepare_image(progress=progress, cancel=cancel)
    assert result.status == "cancelled" and not result.built and not result.pulled, result
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 3
    await asyncio.sleep(2)  # the engine stopped the pull when its client went away
    assert not _has_image(docker_client, server.reference) and not _has_image(docker_client, image)
    assert manager.status()["available"] is False


def _cli_data_dir(tmp_path: Path, image: str, base: str) -> tuple[Path, dict[str, str]]:
    """A data dir whose settings name ``image`` built on ``base``, and an env for ``fame`` in it."""
    data = tmp_path / "data"
    data.mkdir()
    # Set as the app sets it (admin settings edited by hand are not applied until approved).
    SettingsStore(data / "settings.json").update(
        {"sandbox.image": image, "sandbox.base_image": base}, admin=True
    )
    return data, {k: v for k, v in os.environ.items() if k != "FAME_HOME"}


@pytest.mark.slow
def test_cli_prepare_prints_progress_live(
    tmp_path: Path, registry: Any, docker_client: Any, scratch_images: list[str]
) -> None:
    server = registry()
    image = _unique_image()
    scratch_images += [image, server.reference]
    data, env = _cli_data_dir(tmp_path, image, server.reference)
    done = subprocess.run(
        [str(FAME), "--data-dir", str(data), "sandbox", "prepare"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    percents = [int(line.split("%", 1)[0].split()[-1]) for line in lines if "%" in line]
    assert len(percents) >= 3 and percents == sorted(percents) and percents[-1] == 100, done.stdout
    assert any(line.startswith("pull") for line in lines) and any(line.startswith("build") for line in lines)
    assert f"Pulled {server.reference} and built {image}" in done.stdout
    assert _has_image(docker_client, image)


@pytest.mark.slow
def test_cli_prepare_interrupted_stops_the_pull(
    tmp_path: Path, registry: Any, docker_client: Any, scratch_images: list[str]
) -> None:
    server = registry(rate=4_000_000)
    image = _unique_image()
    scratch_images += [image, server.reference]
    data, env = _cli_data_dir(tmp_path, image, server.reference)
    with subprocess.Popen(
        [str(FAME), "--data-dir", str(data), "sandbox", "prepare"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("pull") and not line.split()[1].startswith("0%"):
                break
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=30)
    assert time.monotonic() - interrupted_at < 15
    assert proc.returncode == 130 and "interrupted" in err, (out, err)
    time.sleep(2)  # the engine dropped the pull with its client's connection
    assert not _has_image(docker_client, server.reference) and not _has_image(docker_client, image)
