"""Every way into the private network through `web_fetch` is blocked: a canary HTTP listener on loopback, which
every private target below points at, is never reached.

The URLs go through the real tool on a real Celery tools worker, as a model's call would: numeric IPv4 in
decimal, octal, hex and short forms, IPv6 loopback, unspecified and IPv4-mapped forms, link-local cloud
metadata (169.254.169.254, fd00:ec2::254), 0.0.0.0, localhost names, percent-encoded hosts, userinfo and
fragment tricks, and redirects from a public-looking test site to all of these. Each ends in the step's typed
error (`blocked_address` wherever the host resolves, and a `tool_failed` for hosts that do not).

Everything stays on this machine: the site and the canary listen on loopback only (the site on 127.0.0.2,
the one address opened to the tool, as an operator could open an internal docs host; the canary on
127.0.0.1 and ::1), and names resolve from the hosts file or not at all, never through DNS.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from celery import Celery

from switchboard.core.errors import BlockedAddress, ToolError
from switchboard.core.journal import SyncJournal
from switchboard.core.wire import StepRequest, StepResult, ToolCall, ToolResult
from switchboard.devstack.redis_server import RedisServer
from switchboard.tools.builtin.web_fetch import WebFetch, is_public, resolve, web_fetch_tool
from switchboard.tools.registry import ToolRegistry
from tests.conftest import wait_until
from tests.support.tool_worker import send_tool_step, tools_worker

SITE_HOST = "public.example"  # what the site is called; it resolves to 127.0.0.2, the one opened address
SITE_ADDRESS = "127.0.0.2"
LOCAL_NAMES = {"localhost"}  # names /etc/hosts answers; anything else would need DNS, which a test must not use


class Canary(ThreadingHTTPServer):
    """Counts every TCP connection it accepts (a request need not even be sent), and answers `canary`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self.hits: list[tuple[Any, ...]] = []
        super().__init__(address, CanaryPage)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.hits.append(client_address)
        return True


class CanaryPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"canary")

    def log_message(self, *args: object) -> None:
        pass


def serve(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[int, list[Canary]]]:
    """A listener on 127.0.0.1 and one on ::1, on the same port; yields the port and both listeners."""
    v4 = serve(Canary(("127.0.0.1", 0), socket.AF_INET))
    port = v4.server_address[1]
    v6 = serve(Canary(("::1", port), socket.AF_INET6))
    yield port, [v4, v6]  # type: ignore[list-item]
    for listener in (v4, v6):
        listener.shutdown()
        listener.server_close()


def hits(canary: tuple[int, list[Canary]]) -> int:
    return sum(len(listener.hits) for listener in canary[1])


def redirecting_site(canary_port: int) -> type[BaseHTTPRequestHandler]:
    class Site(BaseHTTPRequestHandler):
        """`/hello` is a page; `/go/<n>` redirects to the n-th of `redirect_targets`; `/hop/<n>` redirects to
        `/go/<n>` (a private target two hops away)."""

        def do_GET(self) -> None:
            targets = redirect_targets(canary_port)
            if self.path == "/hello":
                self.answer(200, {"Content-Type": "text/plain"}, b"hello from a public site")
            elif self.path.startswith("/go/"):
                status, location = targets[int(self.path.removeprefix("/go/"))]
                self.answer(status, {"Location": location}, b"")
            elif self.path.startswith("/hop/"):
                self.answer(302, {"Location": "/go/" + self.path.removeprefix("/hop/")}, b"")
            else:
                self.answer(404, {}, b"")

        def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Site


@pytest.fixture(scope="module")
def site(canary: tuple[int, list[Canary]]) -> Iterator[int]:
    server = serve(ThreadingHTTPServer((SITE_ADDRESS, 0), redirecting_site(canary[0])))
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def offline_resolver(host: str, port: int) -> list[str]:
    """Numeric hosts (every form the C resolver reads, as the tool's own resolver would), hosts-file names
    through the tool's own resolver, the test site's name; never DNS."""
    if host == SITE_HOST:
        return [SITE_ADDRESS]
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                 flags=socket.AI_NUMERICHOST)})
    except socket.gaierror:
        pass
    if host.lower() in LOCAL_NAMES:
        return resolve(host, port)
    raise OSError(f"{host}: not resolved in tests (no DNS)")


def direct_targets(p: int) -> list[str]:
    """Private addresses, written every way a URL allows; `p` is the canary's port."""
    return [
        f"http://127.0.0.1:{p}/", f"http://127.1:{p}/", f"http://0177.0.0.1:{p}/", f"http://0x7f.1:{p}/",
        f"http://0x7f000001:{p}/", f"http://2130706433:{p}/", f"http://017700000001:{p}/", f"http://0:{p}/",
        f"http://0.0.0.0:{p}/", f"http://localhost:{p}/", f"http://LOCALHOST:{p}/admin", f"http://localhost.:{p}/",
        f"http://[::1]:{p}/", f"http://[0:0:0:0:0:0:0:1]:{p}/", f"http://[::]:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/", f"http://[::ffff:7f00:1]:{p}/", f"http://[fe80::1%lo]:{p}/",
        f"http://[fe80::1%25lo]:{p}/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "http://0xA9FEA9FE/latest/meta-data/",
        "http://2852039166/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/", "http://10.0.0.1/", "http://192.168.1.1/",
        "http://172.16.0.1/", "http://100.64.0.1/", f"http://%31%32%37.0.0.1:{p}/",
        f"http://{SITE_HOST}@127.0.0.1:{p}/", f"http://{SITE_ADDRESS}@[::1]:{p}/", f"http://127.0.0.1:{p}#@{SITE_HOST}/",
        f"https://127.0.0.1:{p}/", f"https://[::1]:{p}/",
    ]


def redirect_targets(p: int) -> list[tuple[int, str]]:
    """Where the public-looking site redirects: each a way into the private network."""
    return [
        (302, f"http://127.0.0.1:{p}/"), (301, f"http://[::1]:{p}/"), (303, f"http://localhost:{p}/"),
        (307, f"http://2130706433:{p}/"), (308, f"http://0x7f000001:{p}/"), (302, f"http://0.0.0.0:{p}/"),
        (302, f"http://[::ffff:127.0.0.1]:{p}/"), (302, f"//127.0.0.1:{p}/scheme-relative"),
        (302, f"http://{SITE_HOST}@127.0.0.1:{p}/"), (302, f"https://127.0.0.1:{p}/"),
        (301, "http://169.254.169.254/latest/meta-data/"), (302, "http://[fd00:ec2::254]/latest/meta-data/"),
        (302, "http://10.0.0.1/internal"),
    ]


@pytest.fixture(scope="module")
def worker(redis_server: RedisServer) -> Iterator[Celery]:
    redis.Redis.from_url(redis_server.url).flushall()
    fetch = WebFetch(resolver=offline_resolver, also_allowed=(ipaddress.ip_network(f"{SITE_ADDRESS}/32"),),
                     timeout_s=3)
    with tools_worker(redis_server.url, ToolRegistry([web_fetch_tool(fetch)], enabled=["web_fetch"]),
                      concurrency=4) as app:
        yield app


def fetch_all(app: Celery, redis_url: str, urls: list[str]) -> dict[str, StepResult]:
    """Send one `web_fetch` step per URL, all at once; their journaled results by URL."""
    steps: dict[str, StepRequest] = {url: send_tool_step(app, ToolCall(name="web_fetch", arguments={"url": url}))
                                     for url in urls}
    journal = SyncJournal(redis.Redis.from_url(redis_url, decode_responses=True))

    def all_done() -> dict[str, StepResult] | None:
        results = {url: journal.get(step.activation_id, step.step) for url, step in steps.items()}
        return results if all(results.values()) else None  # type: ignore[return-value]

    return wait_until(all_done, 30, f"{len(urls)} web_fetch steps")


def refusals(results: dict[str, StepResult]) -> dict[str, str]:
    """The error code of each URL's step ("fetched" for one that was read)."""
    return {url: result.error.code if result.error else "fetched" for url, result in results.items()}


def test_the_canary_counts_connections_and_the_site_is_reachable(
        canary: tuple[int, list[Canary]], site: int, worker: Celery, redis_server: RedisServer) -> None:
    """Controls: the canary sees a plain request, and the tool reads the test site (so a block is a block)."""
    port = canary[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        assert response.read() == b"canary"
    assert hits(canary) == 1
    for listener in canary[1]:
        listener.hits.clear()
    [page] = fetch_all(worker, redis_server.url, [f"http://{SITE_HOST}:{site}/hello"]).values()
    assert isinstance(page.output, ToolResult) and page.output.output["text"] == "hello from a public site"


def test_every_private_target_is_blocked_and_the_canary_gets_no_hit(
        canary: tuple[int, list[Canary]], site: int, worker: Celery, redis_server: RedisServer) -> None:
    port = canary[0]
    urls = direct_targets(port) + [f"http://{SITE_HOST}:{site}/go/{n}" for n in range(len(redirect_targets(port)))]
    urls += [f"http://{SITE_HOST}:{site}/hop/{n}" for n in (0, 1, 5)]  # two hops, then private
    assert len(urls) >= 30
    codes = refusals(fetch_all(worker, redis_server.url, urls))
    assert hits(canary) == 0, f"the canary was reached: {canary[1][0].hits + canary[1][1].hits}"
    assert {url for url, code in codes.items() if code == "fetched"} == set()
    # Hosts that resolve (numbers, hosts-file names, the site's redirects) are refused as private addresses;
    # the rest (percent-encoded hosts and zones, `localhost.` without DNS) fail to resolve: typed, never connected.
    unresolvable = {f"http://%31%32%37.0.0.1:{port}/", f"http://[fe80::1%25lo]:{port}/", f"http://localhost.:{port}/"}
    assert {url: code for url, code in codes.items() if url not in unresolvable and code != BlockedAddress.code} == {}
    assert {codes[url] for url in unresolvable} <= {ToolError.code, BlockedAddress.code}


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "64:ff9b::a00:5", "2002:7f00:1::1", "2002:a9fe:a9fe::",
                                     "::7f00:1", "::a9fe:a9fe"])
def test_ipv6_forms_that_embed_a_private_ipv4_address_are_not_public(address: str) -> None:
    # Checked on the function web_fetch vets every address with: fetching them for real would send packets
    # off this machine wherever such a route exists.
    assert not is_public(ipaddress.ip_address(address))
