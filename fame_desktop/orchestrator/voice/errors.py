"""Voice errors: each says what happened and how to fix it, so the window and CLI can show it."""

from __future__ import annotations

from fame_desktop.orchestrator.errors import FameError, NotAvailable


class VoiceUnavailable(NotAvailable):
    """Speech in or out cannot work here (no model, no microphone, no audio device)."""


class ModelProblem(VoiceUnavailable):
    """No Vosk model, or a model folder that is incomplete or fails to load."""


class NoAudioDevice(VoiceUnavailable):
    """PortAudio sees no usable input or output device."""


class DownloadFailed(FameError):
    """A model download failed; the message says whether it can be resumed."""

    code = "download_failed"


class DownloadCancelled(DownloadFailed):
    """The user cancelled a model download (the partial file is kept for resuming)."""

    code = "cancelled"
