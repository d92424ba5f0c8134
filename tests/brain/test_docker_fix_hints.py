"""The Docker fix fits the user: the checkout's scripts for developers, the platform's steps otherwise."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fame_desktop.orchestrator.sandbox.fix_hints import (
    DESKTOP_DOCS,
    INSTALL_DOCS,
    Situation,
    build_fix,
    engine_fix,
    image_fix,
    pull_fix,
)

ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = Situation(checkout=ROOT, platform="linux", docker_installed=True)
PACKAGED_BARE = Situation(checkout=None, platform="linux", docker_installed=False)
PACKAGED = Situation(checkout=None, platform="linux", docker_installed=True)


def test_a_source_checkout_gets_its_scripts() -> None:
    assert "scripts/docker_up.sh" in engine_fix("", CHECKOUT)
    assert "scripts/build_sandbox_image.sh" in image_fix(CHECKOUT)
    assert "scripts/build_sandbox_image.sh" in pull_fix(CHECKOUT)
    assert "scripts/build_sandbox_image.sh" in build_fix(CHECKOUT)


@pytest.mark.parametrize("situation", [PACKAGED_BARE, PACKAGED], ids=["bare", "installed"])
def test_packaged_users_never_get_a_script_they_do_not_have(situation: Situation) -> None:
    for hint in (
        engine_fix("connection refused", situation),
        image_fix(situation),
        pull_fix(situation),
        build_fix(situation),
    ):
        assert "scripts/" not in hint, hint
    assert INSTALL_DOCS in engine_fix("", situation)
    assert "sandbox.docker_host" in engine_fix("", situation)


def test_linux_hints_follow_the_error() -> None:
    assert "apt-get install docker.io" in engine_fix("No such file or directory", PACKAGED_BARE)
    assert "systemctl start docker" in engine_fix("No such file or directory", PACKAGED_BARE)
    started = engine_fix("Connection refused", PACKAGED)
    assert "systemctl enable --now docker" in started and "apt-get" not in started
    denied = engine_fix("('Connection aborted.', PermissionError(13, 'Permission denied'))", PACKAGED)
    assert "usermod -aG docker" in denied and "log out" in denied


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_get_docker_desktop(platform: str) -> None:
    hint = engine_fix("", Situation(checkout=None, platform=platform, docker_installed=False))
    assert "Docker Desktop" in hint and DESKTOP_DOCS in hint and "systemctl" not in hint


def test_this_checkout_is_recognised() -> None:
    here = Situation.current()
    assert here.checkout == ROOT and here.platform == sys.platform


def test_a_frozen_build_with_no_engine_says_what_to_do(tmp_path: Path) -> None:
    """The real probe against a socket nothing answers on, in a process that says it is frozen."""
    dead = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(dead))
    sock.close()
    code = (
        "import sys; sys.frozen = True\n"
        "from fame_desktop.orchestrator.sandbox.engine import Engine\n"
        f"print(Engine('unix://{dead}', 'fame-sandbox:latest').probe().detail)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    detail = done.stdout.strip()
    assert detail.startswith("Docker is not reachable") and "Fix:" in detail
    assert "scripts/" not in detail and INSTALL_DOCS in detail
    assert "systemctl" in detail or "usermod" in detail
