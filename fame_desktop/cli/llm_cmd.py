"""``fame llm ...``: the OpenAI-compatible endpoint: presets, API key, connection test, status."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.commands import help_of
from fame_desktop.cli.output import fail, print_json
from fame_desktop.orchestrator.llm.endpoint import (
    PRESETS,
    check_connection,
    endpoint_config,
    has_api_key,
    preset,
    preset_for,
    set_api_key,
)

if TYPE_CHECKING:
    from fame_desktop.app import App


def register(sub: Any) -> None:
    """Add the ``llm`` subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser("llm", help=help_of("llm"))
    actions = p.add_subparsers(dest="llm_action", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status", help="Which endpoint and model are set, and whether a key is stored."
    )
    status.add_argument("--json", action="store_true")
    actions.add_parser("presets", help="List the endpoint presets (Ollama, LM Studio, vLLM, OpenAI...).")
    use = actions.add_parser("endpoint", help="Set the endpoint: a preset or a base URL, and the model.")
    use.add_argument("--preset", choices=[x.id for x in PRESETS], help="A known server's default address.")
    use.add_argument("--base-url", help="An OpenAI-compatible /v1 base URL (overrides the preset's).")
    use.add_argument("--model", help="The model name at that endpoint.")
    key = actions.add_parser(
        "set-key",
        help="Store the endpoint's API key in the secret store (asked for, or read from stdin).",
    )
    key.add_argument("--stdin", action="store_true", help="Read the key from standard input.")
    key.add_argument("--remove", action="store_true", help="Forget the stored key.")
    test = actions.add_parser("test", help="Reach the endpoint: latency, model name, a one-token answer.")
    test.add_argument("--base-url", help="Test this base URL instead of the configured one.")
    test.add_argument("--model", help="Test this model instead of the configured one.")
    test.add_argument("--json", action="store_true", help="Print the report as JSON.")
    p.set_defaults(func=run)


async def run(args: argparse.Namespace, app: App) -> int:
    """Run an ``llm`` action."""
    services = app.services
    action = args.llm_action
    if action == "presets":
        for item in PRESETS:
            key = " (API key)" if item.needs_key else ""
            print(f"{item.id:10} {item.label:18} {item.base_url or '-':32} {item.hint}{key}")
        return 0
    if action == "status":
        llm = app.settings.settings.llm
        info = {
            "backend": llm.backend,
            "base_url": llm.base_url,
            "preset": preset_for(llm.base_url).id if llm.base_url else None,
            "model": llm.model,
            "api_key_stored": has_api_key(services.secrets),
            "secret_store": services.secrets.backend,
        }
        if args.json:
            print_json(info)
        else:
            for name, value in info.items():
                print(f"{name}: {value}")
        return 0
    if action == "endpoint":
        changes: dict[str, Any] = {}
        if args.preset:
            chosen = preset(args.preset)
            if chosen.base_url:
                changes["llm.base_url"] = chosen.base_url
        if args.base_url:
            changes["llm.base_url"] = args.base_url.strip()
        if args.model is not None:
            changes["llm.model"] = args.model.strip()
        if not changes:
            return fail("Nothing to set.", "Give --preset, --base-url and/or --model.")
        app.safety.update_settings(changes, key=app.admin_key, actor="cli")
        llm = app.settings.settings.llm
        print(f"Endpoint: {llm.base_url or '(none)'}  model: {llm.model or '(none)'}")
        print("Check it with `fame llm test`.")
        return 0
    if action == "set-key":
        if args.remove:
            set_api_key(services.secrets, "", audit=app.audit.append, actor="cli")
            print("API key removed.")
            return 0
        if args.stdin:
            value = sys.stdin.readline().strip()
        else:
            value = getpass.getpass("API key (not shown): ").strip()
        if not value:
            return fail("No key given.", "Paste the key, or use --remove to forget the stored one.")
        where = set_api_key(services.secrets, value, audit=app.audit.append, actor="cli")
        print(f"API key stored ({where.split(':', 1)[0]}); it is never written to settings.json or the logs.")
        return 0
    # test
    overrides = {k: v for k, v in (("base_url", args.base_url), ("model", args.model)) if v}
    config = endpoint_config(app.settings, services.secrets, **overrides)
    if not config.base_url:
        return fail(
            "No endpoint is set.",
            "Run `fame llm endpoint --preset ollama --model NAME` (see `fame llm presets`).",
        )
    report = await check_connection(config, allow_network=bool(app.settings.settings.network.allow_network))
    if args.json:
        print_json(report.to_dict())
    else:
        print(("OK: " if report.ok else "FAILED: ") + report.message)
        if report.models:
            print("Models served: " + ", ".join(report.models[:10]))
        if report.fix:
            print(f"  fix: {report.fix}")
    return 0 if report.ok else 1
