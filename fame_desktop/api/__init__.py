"""The REST API: FastAPI over the same Brain, safety and audit as the window and the CLI."""

from __future__ import annotations

from fame_desktop.api.server import ApiServerHandle, create_api

__all__ = ["ApiServerHandle", "create_api"]
