"""The fix shown when the Docker engine or the sandbox image is missing, for this user's situation.

A source checkout has ``scripts/docker_up.sh`` and ``scripts/build_sandbox_image.sh``; a packaged
build (``sys.frozen``) or an installed package has neither, so its users get the platform's own
steps instead: on Linux install ``docker.io``, start the service or join the ``docker`` group,
whichever the error points to; on macOS and Windows start Docker Desktop. Every hint ends with
the docs link and the remote-engine setting.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_DOCS = "https://docs.docker.com/engine/install/"
DESKTOP_DOCS = "https://docs.docker.com/desktop/"
REMOTE = "or point the setting sandbox.docker_host / DOCKER_HOST at a running engine"


@dataclass(frozen=True)
class Situation:
    """What decides the fix: where FAME runs from, the platform, whether Docker is installed."""

    checkout: Path | None  # the source checkout's root, None when packaged or installed
    platform: str  # sys.platform
    docker_installed: bool

    @classmethod
    def current(cls) -> Situation:
        """This process's situation."""
        return cls(
            checkout=source_checkout(),
            platform=sys.platform,
            docker_installed=bool(shutil.which("dockerd") or shutil.which("docker")),
        )


def source_checkout() -> Path | None:
    """The root of the source checkout FAME runs from (it has ``scripts/``), else None."""
    if getattr(sys, "frozen", False):
        return None
    root = Path(__file__).resolve().parents[3]
    return root if (root / "scripts" / "docker_up.sh").is_file() else None


def engine_fix(error: str = "", situation: Situation | None = None) -> str:
    """How to get a Docker engine answering, given the error the connection gave."""
    where = situation or Situation.current()
    if where.checkout is not None:
        return f"Start Docker with `sudo scripts/docker_up.sh` (or your Docker Desktop), {REMOTE}."
    if where.platform.startswith("linux"):
        if "permission denied" in error.lower():
            step = "Let your user use Docker: `sudo usermod -aG docker $USER`, then log out and in again"
        elif not where.docker_installed:
            step = (
                "Install Docker (Debian/Ubuntu: `sudo apt-get install docker.io`; "
                f"other systems: {INSTALL_DOCS}) and start it: `sudo systemctl start docker`"
            )
        else:
            step = "Start Docker: `sudo systemctl enable --now docker`"
        return f"{step}; {REMOTE}. Help: {INSTALL_DOCS}"
    return f"Start Docker Desktop (install it from {DESKTOP_DOCS}), {REMOTE}."


def image_fix(situation: Situation | None = None) -> str:
    """How to get the sandbox image."""
    where = situation or Situation.current()
    offline = " or scripts/build_sandbox_image.sh (works offline)," if where.checkout is not None else ""
    return (
        f"Run `fame sandbox prepare` (pulls the base image and builds the sandbox image),{offline} "
        "or set sandbox.image to an image this engine has."
    )


def pull_fix(situation: Situation | None = None) -> str:
    """What to do when the base image cannot be pulled."""
    where = situation or Situation.current()
    offline = (
        "build the image offline with scripts/build_sandbox_image.sh, or "
        if where.checkout is not None
        else ""
    )
    return (
        "Check that this computer reaches the registry of the base image, or "
        f"{offline}set sandbox.base_image to an image this engine has (`docker images` lists them)."
    )


def build_fix(situation: Situation | None = None) -> str:
    """What to do when building the sandbox image fails."""
    where = situation or Situation.current()
    if where.checkout is not None:
        return (
            "Check resources/sandbox/Dockerfile and the base image, "
            "or build with scripts/build_sandbox_image.sh."
        )
    return "Check the base image (sandbox.base_image) and the Docker engine's log, then run `fame sandbox prepare` again."
