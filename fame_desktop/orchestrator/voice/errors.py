"""Voice errors: each says what happened and how to fix it, so the window and CLI can show it."""

from __future__ import annotations

from fame_desktop.orchestrator.downloads import DownloadCancelled, DownloadFailed
from fame_desktop.orchestrator.errors import NotAvailable

# The download errors belong to the shared downloader; voice code and tests import them from here too.
__all__ = ["DownloadCancelled", "DownloadFailed", "ModelProblem", "NoAudioDevice", "VoiceUnavailable"]


class VoiceUnavailable(NotAvailable):
    """Speech in or out cannot work here (no model, no microphone, no audio device)."""


class ModelProblem(VoiceUnavailable):
    """No Vosk model, or a model folder that is incomplete or fails to load."""


class NoAudioDevice(VoiceUnavailable):
    """PortAudio sees no usable input or output device."""
