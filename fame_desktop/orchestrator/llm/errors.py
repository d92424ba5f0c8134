"""Errors of the LLM backends, each with its public error code and a fix."""

from __future__ import annotations

from fame_desktop.orchestrator.errors import FameError


class LlmError(FameError):
    """The endpoint answered with an error, or the answer could not be read."""

    code = "llm_error"


class LlmUnavailable(LlmError):
    """No provider is configured, or the endpoint cannot be reached."""

    code = "not_available"


class LlmTimeout(LlmError):
    """The endpoint was too slow (first token, a pause mid-stream, or the whole completion)."""

    code = "timeout"


class LlmModelInvalid(LlmError):
    """A local model file is missing parts, is not a GGUF model, or llama.cpp cannot load it."""

    code = "model_invalid"
