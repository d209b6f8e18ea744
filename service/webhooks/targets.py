"""Where a webhook may point: public addresses only (SSRF guard).

A target's host is resolved at registration and again before every delivery, and every
address it resolves to must be global: not loopback, private (RFC 1918), shared (CGNAT,
100.64.0.0/10), link-local (including the cloud metadata address 169.254.169.254),
unspecified, multicast, reserved or documentation ranges, nor IPv6 unique-local, link-local
or an IPv4 address tunnelled inside IPv6 (mapped, NAT64, 6to4, Teredo) that is any of those.
A name with one bad address is refused whole: the attacker may control which one is used.
The worker then connects to the address it checked (see ``worker.py``), so a second DNS
answer cannot swap in an internal address. ``SPREAD_WEBHOOK_ALLOW_PRIVATE=true`` turns the
guard off for development and tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT = 5.0  # seconds allowed for one name lookup
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(Exception):
    """The target may not be used; ``error`` is the fixed class stored in the delivery log."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


def forbidden(ip: IPAddress) -> bool:
    """True for any address that is not plainly public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and forbidden(embedded):
            return True
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_reserved
    )


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return host, parts.port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The host's addresses (first the resolver's preference), all checked; or TargetRefused."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError):
            raise TargetRefused("unresolvable_host", f"the host {host!r} could not be resolved") from None
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise TargetRefused("unresolvable_host", f"the host {host!r} could not be resolved")
    if not allow_private:
        bad = [ip for ip in addresses if forbidden(ip)]
        if bad:
            raise TargetRefused(
                "forbidden_address",
                f"the host {host!r} resolves to {bad[0]}, which is not a public address "
                "(loopback, private, link-local, shared, multicast and reserved ranges are refused)",
            )
    return addresses
