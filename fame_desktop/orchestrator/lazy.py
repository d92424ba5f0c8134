"""``Lazy[T]``: a long-lived part that the composition root declares now and builds on first use.

A one-shot command (``fame ask "what is 2+2"``) needs the settings, the audit log and the plugins,
not the sandbox (the Docker SDK), code generation, evolution or voice: building those, and
importing their modules, cost most of its start-up. The root wraps each such part in a
:class:`Lazy`; the first caller of :meth:`Lazy.get` builds it (once, under a lock, whichever
thread asks) and every later caller gets the same object, so window, CLI and API still share one
object graph.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """One part, built by ``build`` the first time someone asks for it.

    Args:
        name: The part's name (for messages and :meth:`__repr__`).
        build: Makes the part; called at most once (again only if it raised).
    """

    __slots__ = ("_build", "_lock", "_value", "name")

    def __init__(self, name: str, build: Callable[[], T]) -> None:
        self.name = name
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        """The part, built now if nobody asked for it before."""
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value

    @property
    def built(self) -> bool:
        """Whether the part exists yet (closing need not build what was never used)."""
        return self._value is not None

    def peek(self) -> T | None:
        """The part if it was built, else None (without building it)."""
        return self._value

    def __repr__(self) -> str:
        return f"Lazy({self.name!r}, {'built' if self.built else 'not built'})"
