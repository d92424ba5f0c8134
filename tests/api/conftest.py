"""Fixtures of the API tests: a real server process per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_harness import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a test module, default settings."""
    srv = start_server(tmp_path_factory.mktemp("api-data"))
    yield srv
    stop_server(srv)
