"""`web_fetch`: read a public web page, never anything inside our network.

Only http and https. The host name is resolved once and *every* address must be public (no loopback,
private, link-local — which includes cloud metadata at 169.254.169.254 — multicast, reserved or
unspecified addresses, in IPv4 or IPv6, including IPv4-mapped IPv6); the connection then goes to the
vetted address itself, so a second DNS answer cannot swap in an internal one. Redirects are followed by
hand, a few at most, and each hop is vetted the same way. The body is capped in size and the whole
fetch in time.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from switchboard.core.errors import BlockedAddress, InvalidToolArguments, ToolError, ToolTimeout
from switchboard.tools.registry import Tool

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are an IPv4 address


def is_public(address: Address) -> bool:
    """Whether a fetch may connect to `address`. IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4,
    the deprecated IPv4-compatible `::a.b.c.d`) are judged by that address: they can reach it."""
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)) is not None:
        return is_public(embedded)
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or (int(address) >> 32 == 0 and int(address) > 1):  # NAT64, or IPv4-compatible
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class WebFetch:
    max_bytes: int = 256 * 2**10
    timeout_s: float = 8.0
    max_redirects: int = 3
    resolver: Resolver = resolve
    # Networks opened on purpose despite not being public (tests, an internal docs server): none by default.
    also_allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())

    def __call__(self, url: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        for _ in range(self.max_redirects + 1):
            status, headers, body, truncated = self._get(url, deadline)
            location = headers.get("location")
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            text = body.decode(_charset(headers.get("content-type", "")), errors="replace")
            return {"url": url, "status": status, "content_type": headers.get("content-type", ""),
                    "text": text, "truncated": truncated}
        raise ToolError(f"web_fetch: more than {self.max_redirects} redirects")

    def _get(self, url: str, deadline: float) -> tuple[int, dict[str, str], bytes, bool]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidToolArguments(f"web_fetch: only http and https URLs, not {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self._vetted_address(parts.hostname, port)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ToolTimeout(f"web_fetch: over {self.timeout_s:g} s")
        connection = _connection(parts.scheme, parts.hostname, address, port, remaining)
        try:
            path = parts.path or "/"
            connection.request("GET", f"{path}?{parts.query}" if parts.query else path, headers={
                "Host": parts.netloc, "User-Agent": "Switchboard-web_fetch/1.0", "Accept": "text/*, */*;q=0.5"})
            response = connection.getresponse()
            body = response.read(self.max_bytes + 1)
            headers = {k.lower(): v for k, v in response.getheaders()}
            return response.status, headers, body[: self.max_bytes], len(body) > self.max_bytes
        except TimeoutError as exc:
            raise ToolTimeout(f"web_fetch: {parts.hostname} did not answer in time") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ToolError(f"web_fetch: {parts.hostname}: {exc}") from exc
        finally:
            connection.close()

    def _vetted_address(self, host: str, port: int) -> str:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(host, port)]
        except (OSError, ValueError) as exc:
            raise ToolError(f"web_fetch: cannot resolve {host}: {exc}") from exc
        blocked = [a for a in addresses if not (is_public(a) or _within(a, self.also_allowed))]
        if blocked or not addresses:
            shown = blocked[0] if blocked else "nothing"
            raise BlockedAddress(f"web_fetch: {host} resolves to a non-public address ({shown})")
        return str(addresses[0])


def _within(address: Address, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a vetted address, with the certificate checked against the host name."""

    def __init__(self, hostname: str, address: str, port: int, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._hostname = hostname

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._hostname)  # type: ignore[attr-defined]


def _connection(scheme: str, hostname: str, address: str, port: int, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return _PinnedHTTPSConnection(hostname, address, port, timeout)
    return http.client.HTTPConnection(address, port, timeout=timeout)


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


# Fetches at once across every tools worker: outbound traffic stays polite and bounded.
WEB_FETCH_LANE = 8


def web_fetch_tool(fetch: WebFetch | None = None) -> Tool:
    fetch = fetch or WebFetch()
    return Tool(
        name="web_fetch",
        description="Fetch a public web page (http or https) and return its text, capped in size.",
        parameters={"type": "object", "properties": {"url": {"type": "string", "minLength": 8, "maxLength": 2048}},
                    "required": ["url"], "additionalProperties": False},
        run=fetch,
        timeout_s=fetch.timeout_s + 2,
        max_concurrency=WEB_FETCH_LANE,
    )
