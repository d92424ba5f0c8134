"""``fame sandbox cluster status|init|join-token``: the Docker Swarm cluster the sandbox's swarm
backend runs jobs on. ``init`` and ``join-token`` need an admin key (a join token lets a machine
into the cluster, where it would receive sandbox jobs); each action is audited."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from fame_desktop.cli.output import fail, print_json
from fame_desktop.orchestrator.audit_kinds import AuditKind

if TYPE_CHECKING:
    from fame_desktop.app import App
    from fame_desktop.orchestrator.sandbox.swarm_cluster import ClusterState


def register(actions: Any) -> None:
    """Add ``cluster`` to the ``fame sandbox`` actions."""
    p: argparse.ArgumentParser = actions.add_parser(
        "cluster",
        help="The Docker Swarm cluster of the swarm backend (sandbox.backend = swarm): status, init, join-token.",
    )
    cluster = p.add_subparsers(dest="cluster_action", metavar="ACTION", required=True)
    st = cluster.add_parser("status", help="List the cluster's nodes: host name, role, state, engine, image.")
    st.add_argument("--json", action="store_true", help="Print the status as JSON.")
    init = cluster.add_parser(
        "init", help="Make the manager engine (sandbox.swarm_manager) the manager of a new swarm (admin)."
    )
    init.add_argument(
        "--advertise-addr",
        metavar="ADDR",
        help="The address other machines reach this engine at (needed when it has several).",
    )
    jt = cluster.add_parser(
        "join-token", help="Print the command that joins another machine as a worker (admin)."
    )
    jt.add_argument("--manager", action="store_true", help="The command to join as a manager instead.")
    p.set_defaults(func=run)


async def run(args: argparse.Namespace, app: App) -> int:
    """Run a cluster action over the manager engine the settings name."""
    from fame_desktop.orchestrator.sandbox import swarm_admin  # the Docker SDK loads with it

    engine = swarm_admin.manager_engine(app.settings.settings.sandbox)
    try:
        if args.cluster_action == "status":
            state = await asyncio.to_thread(swarm_admin.cluster_status, engine)
            _audit(app, "status", {"available": state.available, "nodes": len(state.nodes)})
            return _show_status(args, app, state)
        if args.cluster_action == "init":
            app.safety.require_admin(app.admin_key, "initialising a swarm for the sandbox", "cli")
            result = await asyncio.to_thread(swarm_admin.init_swarm, engine, args.advertise_addr)
            _audit(
                app,
                "init",
                {"status": result.status, "advertise_addr": args.advertise_addr, "detail": result.detail},
            )
            if result.status == "failed":
                message, _, fix = result.detail.partition(" Fix: ")
                return fail(message, fix)
            print(result.detail)
            return 0
        app.safety.require_admin(app.admin_key, "showing the swarm join token", "cli")
        try:
            command = await asyncio.to_thread(swarm_admin.join_command, engine, manager=args.manager)
        except Exception as exc:
            _audit(app, "join-token", {"shown": False, "error": str(exc)[:200]})
            return fail(str(exc))
        _audit(app, "join-token", {"shown": True, "role": "manager" if args.manager else "worker"})
        print(
            f"Run this on the machine to add (it needs Docker and the sandbox image, `fame sandbox prepare`):\n\n  {command}\n"
        )
        return 0
    finally:
        engine.close()


def _audit(app: App, action: str, data: dict[str, object]) -> None:
    """One entry per cluster action (never the join token itself)."""
    app.audit.append(
        AuditKind.SANDBOX_CLUSTER,
        {"action": action, **data},
        actor="cli",
        summary=f"sandbox cluster {action}",
    )


def _show_status(args: argparse.Namespace, app: App, state: ClusterState) -> int:
    backend = app.settings.settings.sandbox.backend
    if args.json:
        print_json(
            {
                "available": state.available,
                "detail": state.detail,
                "backend": backend,
                "manager": state.manager,
                "engine_version": state.version,
                "ready_nodes": state.ready_nodes,
                "nodes": [n.to_dict() for n in state.nodes],
            }
        )
        return 0 if state.nodes else 2
    if not state.nodes:
        message, _, fix = state.detail.partition(" Fix: ")
        return fail(message, fix)
    rows = [("HOSTNAME", "ROLE", "STATE", "AVAILABILITY", "ENGINE", "IMAGE")]
    for n in state.nodes:
        image = {True: "yes", False: "missing", None: "?"}[n.image_present]
        rows.append((n.hostname, n.role, n.state, n.availability, n.engine_version, image))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"\n{state.detail}")
    if backend != "swarm":
        print(
            "The sandbox runs on one engine now (sandbox.backend = docker); `fame admin set sandbox.backend swarm` moves it here.",
            file=sys.stderr,
        )
    return 0
