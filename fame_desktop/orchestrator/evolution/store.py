"""Evolution runs and promotions, persisted under ``DataPaths.evolution``.

``runs/<run_id>.json`` holds each run (generations, candidate scores, the winner);
``promotions/<recipe_id>.json`` holds the versions promoted for a task, which one is active, and
every promotion and rollback. Writes are atomic (temp file + rename) under a file lock, so the CLI
and the window can share a data dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fame_desktop.orchestrator.errors import FameError, InvalidRequest
from fame_desktop.orchestrator.evolution.describe import describe_winner

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


@dataclass(frozen=True)
class PromotedVersion:
    """The active evolved implementation of a task."""

    recipe_id: str
    version: int
    run_id: str
    code: str
    fitness: dict[str, Any]
    approved_by: str
    approved_at: float
    #: What the version says about itself in answers ("" for versions promoted before it existed).
    description: str = ""


def _safe_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise InvalidRequest(
            f"'{value}' is not a valid {what}.", f"Use the {what} shown by `fame evolve history`."
        )
    return value


class PromotionStore:
    """Runs and promoted versions on disk.

    Args:
        root: ``DataPaths.evolution``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def promotions_dir(self) -> Path:
        return self.root / "promotions"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise FameError(
                f"The evolution record {path} is damaged ({type(exc).__name__}).",
                "Move the file away; the run or promotion it held is lost, the rest keeps working.",
            ) from exc
        return data if isinstance(data, dict) else None

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    # --- runs ------------------------------------------------------------------------------------

    def save_run(self, run: dict[str, Any]) -> None:
        """Create or replace a run record (its ``id`` names the file)."""
        run_id = _safe_id(str(run["id"]), "run id")
        with self._locked():
            self._write(self.runs_dir / f"{run_id}.json", run)

    def run(self, run_id: str) -> dict[str, Any]:
        """A run record.

        Raises:
            InvalidRequest: No such run.
        """
        data = self._read(self.runs_dir / f"{_safe_id(run_id, 'run id')}.json")
        if data is None:
            raise InvalidRequest(
                f"There is no evolution run '{run_id}'.", "See `fame evolve history` for run ids."
            )
        return data

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs first."""
        if not self.runs_dir.exists():
            return []
        out = []
        for path in self.runs_dir.glob("*.json"):
            with contextlib.suppress(FameError):
                data = self._read(path)
                if data is not None:
                    out.append(data)
        out.sort(key=lambda r: float(r.get("started_at", 0)), reverse=True)
        return out[:limit]

    # --- promotions ------------------------------------------------------------------------------

    def _promotions(self, recipe_id: str) -> dict[str, Any]:
        path = self.promotions_dir / f"{_safe_id(recipe_id, 'task id')}.json"
        return self._read(path) or {"recipe_id": recipe_id, "active": None, "versions": [], "events": []}

    def promotions(self, recipe_id: str) -> dict[str, Any]:
        """Every version promoted for a task, the active one, and the promote/rollback events."""
        return self._promotions(recipe_id)

    def active(self, recipe_id: str) -> PromotedVersion | None:
        """The active promoted implementation of ``recipe_id``, or None (the library's original)."""
        try:
            data = self._promotions(recipe_id)
        except InvalidRequest:
            return None
        version = data.get("active")
        for v in data.get("versions", []):
            if v["version"] == version:
                return PromotedVersion(
                    recipe_id=recipe_id,
                    version=int(v["version"]),
                    run_id=str(v["run_id"]),
                    code=str(v["code"]),
                    fitness=dict(v.get("fitness", {})),
                    approved_by=str(v.get("approved_by", "")),
                    approved_at=float(v.get("approved_at", 0)),
                    description=str(v.get("description") or ""),
                )
        return None

    def promote(self, run_id: str, *, approved_by: str) -> PromotedVersion:
        """Make a finished run's winner the active implementation of its task (a new version).

        Raises:
            InvalidRequest: The run does not exist, has no correct winner, or was already promoted.
        """
        with self._locked():
            run = self.run(run_id)
            winner = run.get("winner")
            if run.get("status") != "finished" or not winner or not winner.get("fitness", {}).get("correct"):
                raise InvalidRequest(
                    f"Run {run_id} has no tested winner to promote (status: {run.get('status')}).",
                    "Promote a finished run whose winner passed every test.",
                )
            if run.get("promoted_version"):
                raise InvalidRequest(
                    f"Run {run_id} was already promoted as version {run['promoted_version']}.", ""
                )
            recipe_id = str(run["recipe_id"])
            data = self._promotions(recipe_id)
            version = max((int(v["version"]) for v in data["versions"]), default=0) + 1
            now = time.time()
            data["versions"].append(
                {
                    "version": version,
                    "run_id": run_id,
                    "code": winner["code"],
                    "fitness": winner["fitness"],
                    "improvement": run.get("improvement"),
                    "description": describe_winner(run),
                    "approved_by": approved_by,
                    "approved_at": now,
                }
            )
            previous = data.get("active")
            data["active"] = version
            data["events"].append(
                {
                    "action": "promote",
                    "version": version,
                    "from": previous,
                    "run_id": run_id,
                    "by": approved_by,
                    "at": now,
                }
            )
            self._write(self.promotions_dir / f"{recipe_id}.json", data)
            run["promoted_version"] = version
            run["approved_by"] = approved_by
            run["approved_at"] = now
            self._write(self.runs_dir / f"{run_id}.json", run)
        active = self.active(recipe_id)
        assert active is not None
        return active

    def rollback(self, recipe_id: str, *, by: str) -> tuple[int, int | None]:
        """Step back to the version active before the current one (or the library's original).

        Returns:
            (the version rolled back from, the version now active or None for the original).

        Raises:
            InvalidRequest: Nothing is promoted for the task.
        """
        with self._locked():
            data = self._promotions(recipe_id)
            current = data.get("active")
            if current is None:
                raise InvalidRequest(
                    f"Nothing evolved is active for '{recipe_id}': it already uses the library's original.",
                    "See `fame evolve history` for promoted tasks.",
                )
            older = sorted(int(v["version"]) for v in data["versions"] if int(v["version"]) < int(current))
            retired = set(data.get("retired", []))
            retired.add(int(current))
            candidates = [v for v in older if v not in retired]
            new = candidates[-1] if candidates else None
            data["active"] = new
            data["retired"] = sorted(retired)
            data["events"].append(
                {"action": "rollback", "version": current, "to": new, "by": by, "at": time.time()}
            )
            self._write(self.promotions_dir / f"{recipe_id}.json", data)
        return int(current), new

    def promoted_tasks(self) -> list[dict[str, Any]]:
        """Every task with promotion history (active version and events)."""
        if not self.promotions_dir.exists():
            return []
        out = []
        for path in sorted(self.promotions_dir.glob("*.json")):
            with contextlib.suppress(FameError):
                data = self._read(path)
                if data is not None:
                    out.append(
                        {
                            "recipe_id": data.get("recipe_id", path.stem),
                            "active": data.get("active"),
                            "versions": [
                                {k: v for k, v in ver.items() if k != "code"}
                                for ver in data.get("versions", [])
                            ],
                            "events": data.get("events", []),
                        }
                    )
        return out
