"""Where a webhook may connect: public addresses only, unless the operator allows private networks.

A webhook URL is chosen by a client, and the worker POSTs to it from inside the deployment: pointed at
127.0.0.1, 169.254.169.254 (cloud metadata) or a private network it would reach what the internet cannot
(server-side request forgery). The host is resolved once at connect time, every address it resolves to is
checked, and the socket connects to the checked address, so a DNS answer that changes between check and
connect (rebinding) cannot slip past."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CHECKS: tuple[tuple[str, Callable[[Any], bool]], ...] = (
    ("a loopback address", lambda ip: ip.is_loopback),
    ("a link-local address", lambda ip: ip.is_link_local),
    ("a multicast address", lambda ip: ip.is_multicast),
    ("the unspecified address", lambda ip: ip.is_unspecified),
    ("a reserved address", lambda ip: ip.is_reserved),
    ("a private address", lambda ip: ip.is_private),
    ("not a globally routable address", lambda ip: not ip.is_global),
)
HOW_TO_ALLOW = "an operator may allow it with WEBHOOK_ALLOWED_NETWORKS (or WEBHOOK_ALLOW_PRIVATE=1)"


class BlockedAddress(Exception):
    """A webhook host is, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses a webhook may reach: all (`allow_private`) or those in `networks`."""

    allow_private: bool = False
    networks: tuple[Network, ...] = field(default_factory=tuple)

    def problem(self, address: str) -> str | None:
        """Why `address` (an IP literal) is refused, or None."""
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone index names no other host
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if self.allow_private or any(ip in network for network in self.networks):
            return None
        kind = next((name for name, check in CHECKS if check(ip)), None)
        return None if kind is None else f"{ip} is {kind}; {HOW_TO_ALLOW}"


def policy_of(config: Any) -> AddressPolicy:
    """The policy an app's settings state (WEBHOOK_ALLOW_PRIVATE, WEBHOOK_ALLOWED_NETWORKS)."""
    return AddressPolicy(bool(config["WEBHOOK_ALLOW_PRIVATE"]), parse_networks(config["WEBHOOK_ALLOWED_NETWORKS"]))


def parse_networks(text: str) -> tuple[Network, ...]:
    """WEBHOOK_ALLOWED_NETWORKS: comma-separated addresses or CIDR networks; ValueError names a bad one."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def literal_problem(host: str, policy: AddressPolicy) -> str | None:
    """Why a URL's host, when it is an IP literal or localhost, is refused at registration (names are
    checked when a delivery connects: what they resolve to can change)."""
    if host.lower().rstrip(".") == "localhost" or host.lower().rstrip(".").endswith(".localhost"):
        return None if policy.allow_private else f"localhost is a loopback address; {HOW_TO_ALLOW}"
    try:
        return policy.problem(host)
    except ValueError:
        return None


def checked_address(host: str, port: int, policy: AddressPolicy) -> str:
    """The address to connect to: `host` resolved once, each of its addresses allowed, else BlockedAddress."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedAddress(f"{host} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    problems = [problem for problem in map(policy.problem, addresses) if problem]
    if problems or not addresses:
        raise BlockedAddress(f"refused to connect to {host}: {problems[0] if problems else 'no address'}")
    return addresses[0]


def _checked(connection_class: type, policy: AddressPolicy) -> type:
    class Checked(connection_class):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            # TLS still verifies the certificate for self.host (the name); only the socket uses the address
            self._dns_host = checked_address(getattr(self, "_dns_host"), self.port, policy)  # noqa: B009
            return super()._new_conn()

    return Checked


def guarded_session(policy: AddressPolicy) -> requests.Session:
    """A requests session whose connections go only where `policy` allows (and never through an environment
    proxy, which would be checked instead of the receiver)."""
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {
        "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _checked(HTTPConnection, policy)}),
        "https": type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": _checked(HTTPSConnection, policy)}),
    }
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
