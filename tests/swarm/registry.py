"""A real image registry for the Swarm tests: Debian's ``docker-registry`` (the CNCF Distribution
registry) over TLS at the manager's Swarm address, so the manager pushes to it and a worker in its
own network namespace pulls from it.

The engines trust it the way an operator would set up a private registry: its CA certificate in
``/etc/docker/certs.d/<host:port>/ca.crt``, which every engine on the machine reads per pull, with
no engine restart and no ``insecure-registries`` entry.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CERTS_D = Path("/etc/docker/certs.d")


@dataclass
class Registry:
    """A running registry: ``address`` (``host:port``, what ``sandbox.registry`` names) and its CA."""

    address: str
    ca: Path

    def get(self, path: str) -> dict[str, object]:
        """``GET https://<address><path>`` (the registry's HTTP API v2), as JSON."""
        context = ssl.create_default_context(cafile=str(self.ca))
        with urllib.request.urlopen(f"https://{self.address}{path}", context=context, timeout=10) as answer:
            data: dict[str, object] = json.loads(answer.read())
            return data


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _certificate(folder: Path, host: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (an IP address); (certificate, key)."""
    crt, key = folder / "registry.crt", folder / "registry.key"
    subject = ["-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}"]
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", *subject]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True, timeout=60
    )
    return crt, key


def serve(folder: Path, host: str) -> Iterator[Registry]:
    """Run a registry on ``host`` (an address every node reaches) until the generator is closed;
    then stop it and take its CA out of the engines' trust again."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is not installed: apt-get install -y docker-registry (scripts/lib.sh)"
    port = _free_port(host)
    address = f"{host}:{port}"
    crt, key = _certificate(folder, host)
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {folder / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '{address}', tls: {{certificate: {crt}, key: {key}}}}}\n"
    )
    trust = CERTS_D / address
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copy(crt, trust / "ca.crt")
    log = (folder / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    registry = Registry(address, crt)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                registry.get("/v2/")
                break
            except OSError:
                assert process.poll() is None, (folder / "registry.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "the registry did not answer within 30 s"
                time.sleep(0.1)
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(trust, ignore_errors=True)
