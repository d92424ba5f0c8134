"""Approving user plugins in tests the way an admin does: signed entries in the real approval store."""

from __future__ import annotations

from pathlib import Path

from fame_desktop.orchestrator.paths import DataPaths
from fame_desktop.orchestrator.plugin_approval import PluginApprovals
from fame_desktop.orchestrator.plugin_files import digest, is_package, read_plugin
from fame_desktop.orchestrator.secrets import SecretStore
from fame_plugin_api import ManifestError, read_manifest_source


def approve_plugins(data_dir: Path, folder: Path | None = None) -> list[str]:
    """Approve every plugin (file or package) with a valid manifest in ``folder`` (default: the data dir's).

    Returns:
        The names approved.
    """
    paths = DataPaths.resolve(data_dir)
    approvals = PluginApprovals(paths.plugin_approvals, SecretStore(paths.secrets))
    names = []
    for path in sorted((folder or paths.plugins).iterdir()):
        if path.suffix != ".py" and not is_package(path):
            continue
        try:
            files = read_plugin(path)
            name = read_manifest_source(files.main, Path(files.main_name)).name
        except ManifestError:
            continue
        approvals.approve(name, files.sha256, by="test")
        names.append(name)
    return names


def approve_source(data_dir: Path, source: str) -> str:
    """Approve a plugin's source before it is written to the plugin folder (no rescan can race it).

    Returns:
        The plugin's name.
    """
    paths = DataPaths.resolve(data_dir)
    name = read_manifest_source(source, Path("plugin.py")).name
    PluginApprovals(paths.plugin_approvals, SecretStore(paths.secrets)).approve(
        name, digest(source.encode("utf-8")), by="test"
    )
    return name
