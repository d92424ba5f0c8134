"""The ``fame`` subcommands: name, help line and the module that implements each, declared once.

``fame --help`` lists them from this table alone; a command's module (and the part of the app it
needs) is imported only when that command runs or asks for its own help.
"""

from __future__ import annotations

from typing import NamedTuple


# A NamedTuple, not a dataclass: `fame --help` imports this table and nothing else of the app, and
# the dataclasses module (with inspect, which it imports) would be a tenth of what that costs.
class Command(NamedTuple):
    """One subcommand: its module has ``register(subparsers)`` and the handlers it sets."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command(
        "setup",
        "fame_desktop.cli.setup_cmd",
        "First-run set-up: admin key, Docker check, language model, voice language.",
    ),
    Command("ask", "fame_desktop.cli.ask_cmd", "Ask the Brain one question."),
    Command(
        "plugins", "fame_desktop.cli.plugins_cmd", "List plugins; approve, reload, enable or disable one."
    ),
    Command("audit", "fame_desktop.cli.audit_cmd", "Show, verify or export the audit log."),
    Command("admin", "fame_desktop.cli.admin_cmd", "Admin keys, network, capabilities, settings."),
    Command(
        "routing",
        "fame_desktop.cli.routing_cmd",
        "Routing feedback: accuracy over time, export or forget your corrections.",
    ),
    Command(
        "run",
        "fame_desktop.cli.sandbox_cmd",
        "Run your own Python FILE ('-': standard input) in the sandbox (as `fame sandbox run`).",
    ),
    Command("sandbox", "fame_desktop.cli.sandbox_cmd", "Run a Python file in the sandbox."),
    Command("voice", "fame_desktop.cli.voice_cmd", "Offline speech: transcribe, speak, models."),
    Command(
        "llm", "fame_desktop.cli.llm_cmd", "The language model endpoint: presets, API key, connection test."
    ),
    Command(
        "models", "fame_desktop.cli.models_cmd", "Local language models: list, download, use, import, remove."
    ),
    Command(
        "serve",
        "fame_desktop.cli.serve_cmd",
        "Serve the REST API (POST /query, /health, /plugins, /audit, /metrics, /docs).",
    ),
    Command(
        "evolve",
        "fame_desktop.cli.evolve_cmd",
        "Breed faster or smaller solutions for a library task; approve and roll back.",
    ),
)


def help_of(name: str) -> str:
    """The help line of command ``name``."""
    return next(c.help for c in COMMANDS if c.name == name)
