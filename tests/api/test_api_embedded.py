"""ApiServerHandle: the API served on the app's own loop shares its Brain, audit and settings."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from fame_desktop.api import ApiServerHandle
from fame_desktop.app import App
from fame_desktop.orchestrator.errors import AdminRequired, FameError
from fame_desktop.orchestrator.events import QueryCompleted


async def test_embedded_server_shares_the_brain(app: App) -> None:
    key = app.safety.create_first_key(actor="test")
    seen: list[QueryCompleted] = []
    app.bus.subscribe(QueryCompleted, seen.append)
    handle = ApiServerHandle()
    url = await handle.start(app, port=0)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert await handle.start(app, port=0) == url  # idempotent
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}) as c:
            r = await c.post("/query", json={"text": "what is 9 * 9"})
        body = r.json()
        assert r.status_code == 200 and "81" in body["response"]
        # The same Brain answered: the window would see this query on its bus and in its audit.
        assert seen[-1].query_id == body["id"]
        # The gate audits the request once the answer is sent: wait for its entry.
        for _ in range(100):
            if app.audit.query(limit=1)[0].kind == "api_request":
                break
            await asyncio.sleep(0.02)
        assert app.audit.query(limit=1)[0].kind == "api_request"
    finally:
        await handle.stop()
    assert not handle.running
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=url) as c:
            await c.get("/health")


async def test_port_in_use_is_a_clear_error(app: App) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(FameError, match=f"cannot listen on 127.0.0.1:{port}"):
            await ApiServerHandle().start(app, port=port)


async def test_settings_host_is_respected_and_guarded(app: App) -> None:
    app.safety.update_settings({"api.host": "0.0.0.0"}, actor="test", trusted=True)
    with pytest.raises(AdminRequired):
        await ApiServerHandle().start(app, port=0)
