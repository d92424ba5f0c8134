"""Offline voice: Vosk speech recognition fed by sounddevice, pyttsx3 speech, model management.

The package never imports Qt. :class:`~fame_desktop.orchestrator.voice.adapter.VoiceAdapter` is the
one object front ends use; the other modules are its parts and are usable alone (the CLI uses
``transcribe_file`` and ``Speaker`` directly).
"""

from __future__ import annotations
