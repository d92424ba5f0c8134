"""What the warm pool remembers across starts: the longest recent burst, and nothing it should not.

These drive :class:`WarmPool` with a stand-in for the engine (``create`` returns a token): the
decisions checked here (how many containers to hold, what goes to the file) are the pool's own.
The same journey against the real engine is in test_sandbox_pool.py.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from fame_desktop.orchestrator.sandbox.pool import REMEMBER_S, BurstMemory, Refill, WarmPool


def _pool(size: int, memory: BurstMemory | None, refill: Refill = Refill.AHEAD) -> WarmPool[int]:
    made = iter(range(1_000_000))
    lock = threading.Lock()

    def create() -> int:
        with lock:
            return next(made)

    return WarmPool(size, create, lambda _c: None, lambda: True, refill=refill, memory=memory)


def _wait(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)
    assert condition(), "timed out"  # type: ignore[operator]


def test_a_burst_is_remembered_and_the_next_pool_starts_ready_for_it(tmp_path: Path) -> None:
    memory = BurstMemory(tmp_path / "sandbox_pool.json")
    pool = _pool(2, memory)
    pool.start()
    _wait(lambda: pool.idle == 2)
    for _ in range(6):
        pool.take()
    _wait(lambda: memory.recall() == 6)
    pool.close()
    again = _pool(2, memory)
    assert again.target == 7  # before any take
    again.start()
    _wait(lambda: again.idle == 7)
    again.close()


def test_a_burst_as_long_again_moves_its_date_on_and_a_shorter_one_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "sandbox_pool.json"
    path.write_text(json.dumps({"burst": 4, "seen": time.time() - REMEMBER_S + 60}))
    memory = BurstMemory(path)
    pool = _pool(1, memory)
    pool.start()
    _wait(lambda: pool.idle == 5)
    for _ in range(2):
        pool.take()
    time.sleep(0.1)
    assert json.loads(path.read_text())["burst"] == 4  # a shorter burst writes nothing
    for _ in range(2):
        pool.take()  # the same burst goes on to 4 runs
    _wait(lambda: time.time() - json.loads(path.read_text())["seen"] < 5)
    assert json.loads(path.read_text())["burst"] == 4
    pool.close()


def test_what_is_old_foreign_or_broken_is_not_remembered(tmp_path: Path) -> None:
    path = tmp_path / "sandbox_pool.json"
    memory = BurstMemory(path)
    assert memory.recall() == 0  # no file
    for text in [
        "{not json",
        '{"burst": "many"}',
        '{"seen": 1}',
        "[]",
        json.dumps({"burst": -3, "seen": time.time()}),
    ]:
        path.write_text(text)
        assert memory.recall() == 0, text
        assert _pool(2, memory).target == 2
    path.write_text(json.dumps({"burst": 9, "seen": time.time() - REMEMBER_S - 1}))
    assert memory.recall() == 0
    path.write_text(json.dumps({"burst": 500, "seen": time.time()}))
    assert _pool(2, memory).target == 24  # never past the cap


def test_a_disabled_pool_or_the_old_refill_rule_ignores_the_memory(tmp_path: Path) -> None:
    path = tmp_path / "sandbox_pool.json"
    path.write_text(json.dumps({"burst": 9, "seen": time.time()}))
    memory = BurstMemory(path)
    assert _pool(0, memory).target == 0
    assert _pool(2, memory, Refill.ON_TAKE).target == 2


def test_an_unwritable_memory_leaves_the_pool_serving(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    memory = BurstMemory(folder / "sandbox_pool.json")  # its folder does not exist
    pool = _pool(1, memory)
    pool.start()
    _wait(lambda: pool.idle == 1)
    taken = [pool.take() for _ in range(3)]
    assert taken[0] is not None
    _wait(lambda: pool.idle == 4)  # it learned the burst all the same
    assert not folder.exists()
    pool.close()
