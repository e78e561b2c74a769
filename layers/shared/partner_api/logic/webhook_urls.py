"""Where webhooks may point: https to public addresses only (SSRF guard).

Checked when a webhook is registered, and again on the address actually resolved at delivery,
which is the address the request then connects to (so a DNS change after registration cannot
turn a webhook into a probe of the private network). A local run may allow http://127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from partner_api.config import settings
from partner_api.errors import FieldIssue, InvalidInput

# Ranges never reachable from a webhook: beyond is_private/is_loopback/..., the carrier-grade
# NAT range and the cloud metadata endpoints are named explicitly.
_EXTRA_BLOCKED = [
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("169.254.169.254/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
]
LOCAL_HOST = "127.0.0.1"


class RefusedDestination(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    address: str  # the checked IP the request connects to


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _is_local_allowance(scheme: str, host: str) -> bool:
    return settings().allow_loopback_webhooks and host == LOCAL_HOST and scheme in ("http", "https")


def check_registration(url: str) -> str:
    """The URL if a webhook may use it, else ``InvalidInput`` on field ``url``."""

    def refuse(issue: str) -> InvalidInput:
        return InvalidInput(
            f"The url value specified is invalid: {issue}.", details=[FieldIssue("url", issue)]
        )

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        raise refuse("invalid port") from None
    if parts.username or parts.password:
        raise refuse("credentials in the URL are not allowed")
    if parts.fragment:
        raise refuse("fragments are not allowed")
    if not host:
        raise refuse("must be an absolute URL")
    if _is_local_allowance(parts.scheme, host):
        return url
    if parts.scheme != "https":
        raise refuse("must use https")
    try:
        resolve(host, port or 443)
    except RefusedDestination:
        raise refuse("must point to a public address") from None
    return url


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to; all must be public (a literal IP is checked as is)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # An unresolvable name is refused too: it cannot be checked.
        raise RefusedDestination(f"cannot resolve {host}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses or not all(is_public(a) for a in addresses):
        raise RefusedDestination(f"{host} resolves to a non-public address")
    return addresses


def delivery_target(url: str) -> Target:
    """Resolve and check the URL now, for one delivery attempt."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    scheme = parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if _is_local_allowance(scheme, host):
        return Target(scheme, host, port, path, host)
    if scheme != "https":
        raise RefusedDestination("webhooks use https")
    return Target(scheme, host, port, path, resolve(host, port)[0])
