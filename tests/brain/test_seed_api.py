"""Every snippet of the seed README works with fame_desktop.orchestrator in place of orchestrator."""

from __future__ import annotations

from pathlib import Path

import pytest


async def test_seed_python_api(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAME_HOME", str(data_dir))
    from fame_desktop.orchestrator.brain import Brain

    brain = Brain()
    try:
        assert brain.allow_network is False
        brain.allow_network = True  # Only in trusted environments
        assert brain.allow_network is True
        brain.admin_api_keys.add("your-admin-key-here")
        assert "your-admin-key-here" in brain.admin_api_keys
        assert "your-admin-key-here" not in (data_dir / "admin_keys.json").read_text()

        response = await brain.handle_query(
            {
                "text": "Write a Python function to reverse a string",
                "intent": "generate_code",
                "user": "test_user",
            }
        )
        assert response["intent"] == "generate_code"
        assert "def " in (response["code"] or "")

        market = await brain.handle_query(
            {"text": "What is BTC price today?", "intent": "market_analysis", "user": "test_user"}
        )
        assert market["intent"] == "market_analysis"
        assert "advanced_investor_ai" in market["plugins"]

        audit = brain.audit_log[-100:]
        assert 0 < len(audit) <= 100
        assert audit[-1].kind == "query_completed"
        assert any(e.kind == "settings_changed" for e in audit)
    finally:
        await brain.aclose()


def test_seed_load_plugins() -> None:
    from fame_desktop.orchestrator.plugin_loader import load_plugins

    plugins = load_plugins()
    assert "universal_developer" in plugins
    print(plugins)


@pytest.mark.docker
def test_seed_docker_manager_snippet(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAME_HOME", str(data_dir))
    from fame_desktop.orchestrator.brain import Brain

    brain = Brain()
    try:
        report = brain.docker_manager.run_code_in_container(
            code_str="print(sum(range(10)))",
            timeout_seconds=30,
            memory_limit="512m",
            cpu_quota=50000,  # 0.5 cores
            allow_network=False,
        )
        assert report["status"] == "ok" and report["backend"] == "docker", report
        assert report["stdout"] == "45\n" and report["exit_code"] == 0
        assert report["limits"]["network"] is False and report["limits"]["cpus"] == 0.5
        assert any(e.kind == "sandbox_run" for e in brain.audit_log[-10:])
    finally:
        import asyncio

        asyncio.run(brain.aclose())
