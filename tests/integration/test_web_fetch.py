"""web_fetch reads what it may and refuses every way into the private network (traffic stays on loopback)."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from switchboard.core.errors import BlockedAddress, InvalidToolArguments, ToolTimeout
from switchboard.tools.builtin.web_fetch import WebFetch, is_public

# The test server listens on 127.0.0.2; only that address is opened, as an operator could open a docs host.
OPENED = (ipaddress.ip_network("127.0.0.2/32"),)


class Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/hello": (200, {"Content-Type": "text/plain; charset=utf-8"}, "héllo from the test server".encode()),
            "/big": (200, {"Content-Type": "text/plain"}, b"x" * 100_000),
            "/to-hello": (302, {"Location": "/hello"}, b""),
            "/to-loopback": (302, {"Location": "http://127.0.0.1:9/secret"}, b""),
            "/to-metadata": (301, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
        }
        if self.path == "/slow":
            threading.Event().wait(2)
        status, headers, body = routes.get(self.path, (200, {"Content-Type": "text/plain"}, b"slow"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.2", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.2:{server.server_address[1]}"
    server.shutdown()


def fetcher(**overrides: object) -> WebFetch:
    return WebFetch(also_allowed=OPENED, **overrides)  # type: ignore[arg-type]


def test_reads_a_page_and_follows_a_safe_redirect(site: str) -> None:
    page = fetcher()(f"{site}/to-hello")
    assert page["status"] == 200 and page["text"] == "héllo from the test server" and page["url"].endswith("/hello")


def test_caps_the_body(site: str) -> None:
    page = fetcher(max_bytes=1000)(f"{site}/big")
    assert len(page["text"]) == 1000 and page["truncated"] is True


@pytest.mark.parametrize("path", ["/to-loopback", "/to-metadata"])
def test_redirects_into_the_private_network_are_refused(site: str, path: str) -> None:
    with pytest.raises(BlockedAddress):
        fetcher()(f"{site}{path}")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost:8080/", "http://10.0.0.5/", "http://192.168.1.1/", "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[fe80::1]/", "http://[fd00:ec2::254]/",
    "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/", "http://224.0.0.1/",
])
def test_private_addresses_are_refused_without_connecting(url: str) -> None:
    with pytest.raises(BlockedAddress):
        WebFetch()(url)


def test_a_name_with_any_private_answer_is_refused() -> None:
    rebinding = WebFetch(resolver=lambda host, port: ["93.184.215.14", "127.0.0.1"])
    with pytest.raises(BlockedAddress):
        rebinding("http://example.test/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x", "http:///nohost"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(InvalidToolArguments):
        WebFetch()(url)


def test_redirect_loops_and_slow_servers_are_bounded(site: str) -> None:
    with pytest.raises(Exception, match="redirects"):
        fetcher(max_redirects=2)(f"{site}/loop")
    with pytest.raises(ToolTimeout):
        fetcher(timeout_s=0.5)(f"{site}/slow")


def test_public_addresses_are_public() -> None:
    assert is_public(ipaddress.ip_address("93.184.215.14"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
