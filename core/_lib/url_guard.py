"""SSRF protection for page fetches: only http(s) URLs whose host resolves to public addresses.

Exception, on purpose: the loopback names ``127.0.0.1``, ``localhost`` and ``::1`` are allowed
when they resolve only to loopback, so a person can read pages served on their own machine (and
tests can run a real server). Every other private, loopback, link-local (cloud metadata at
169.254.169.254), multicast, reserved or unspecified address is refused. Each redirect hop is
checked again by the caller. Known limit: the name is resolved here and again by the HTTP client,
so a DNS answer that changes between the two (rebinding) is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


class UrlRefused(Exception):
    """The URL may not be fetched.

    Args:
        code: ``invalid_url`` or ``blocked_address``.
        message: Why, and what to do instead.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


async def check_url(url: str) -> str:
    """Validate ``url`` and resolve its host; return the URL when it may be fetched.

    Raises:
        UrlRefused: Not http(s), no host, unresolvable, or a non-public address.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(
            "invalid_url",
            f"Only http:// and https:// pages can be fetched, not {parts.scheme or 'that'}:// URLs.",
        )
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UrlRefused("invalid_url", f"{url} has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UrlRefused("invalid_url", f"{url} has an invalid port.") from exc
    try:
        literal = ipaddress.ip_address(host)
        addresses = [literal]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UrlRefused("invalid_url", f"Cannot resolve {host}: {exc.strerror or exc}.") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if host in LOCAL_NAMES and all(a.is_loopback for a in addresses):
        return url
    blocked = [str(a) for a in addresses if not _is_public(a)]
    if blocked:
        raise UrlRefused(
            "blocked_address",
            f"{host} points to a private or internal address ({blocked[0]}); fetching it is refused to "
            "protect your network. Only public web pages (and 127.0.0.1/localhost) can be fetched.",
        )
    return url
