"""Safe web downloads against a local fake web server: limits, redirects, private hosts."""

from __future__ import annotations

import ipaddress
import re
import socket
import time

import pytest

from core.config import free_port
from core.errors import UserError
from core.web.download import HostPolicy, download_image
from tests.web_api_server import FAKE_WEB_SLOW_S, FakeWebServer

MB = 1024 * 1024
SLOW_S = FAKE_WEB_SLOW_S  # how long the fake server sleeps (or drips) on "slow" requests
TIMEOUT_S = 0.5  # the client timeout in these tests
LAB = HostPolicy(allow_private=True)  # the fake web server is on 127.0.0.1: opt in explicitly


pytestmark = pytest.mark.usefixtures("no_proxy")  # fixtures in tests/conftest.py


def test_download_returns_the_exact_bytes(web: FakeWebServer) -> None:
    assert download_image(web.image_url("good-3.jpg"), max_bytes=MB, policy=LAB) == web.image_bytes(
        "good-3.jpg"
    )
    assert download_image(web.image_url("photo.png"), max_bytes=MB, policy=LAB) == web.image_bytes(
        "photo.png"
    )


def test_download_follows_redirects_to_web_addresses(web: FakeWebServer) -> None:
    assert download_image(
        web.image_url("redirect.jpg"), max_bytes=MB, policy=LAB
    ) == web.image_bytes("good-0.jpg")
    chained = download_image(web.image_url("redirect-loop-3.jpg"), max_bytes=MB, policy=LAB)
    assert chained == web.image_bytes("good-2.jpg")


def test_download_refuses_a_redirect_to_a_local_file(web: FakeWebServer) -> None:
    url = web.image_url("redirect-file.jpg")

    with pytest.raises(UserError) as caught:
        download_image(url, max_bytes=MB, policy=LAB)
    assert str(caught.value) == (
        f"{url!r} redirects to 'file:///etc/passwd', which is not a web address; only http "
        "and https images are downloaded."
    )


def test_download_refuses_more_than_five_redirects(web: FakeWebServer) -> None:
    with pytest.raises(UserError, match="redirects more than 5 times"):
        download_image(web.image_url("redirect-loop.jpg"), max_bytes=MB, policy=LAB)


def test_download_refuses_a_declared_size_over_the_limit_before_reading(
    web: FakeWebServer,
) -> None:
    with pytest.raises(UserError, match=r"is 60 MB, over the 1 MB limit; pick a smaller image"):
        download_image(web.image_url("huge.jpg"), max_bytes=MB, policy=LAB)


def test_download_stops_reading_an_endless_body_at_the_limit(web: FakeWebServer) -> None:
    started = time.monotonic()

    with pytest.raises(UserError, match=r"endless.jpg' is over the 1 MB limit"):
        download_image(web.image_url("endless.jpg"), max_bytes=MB, policy=LAB)
    assert time.monotonic() - started < 2


def test_download_times_out(web: FakeWebServer) -> None:
    started = time.monotonic()

    with pytest.raises(UserError, match=r"slow.jpg' did not arrive within 0.5 s; try again"):
        download_image(web.image_url("slow.jpg"), timeout_s=TIMEOUT_S, max_bytes=MB, policy=LAB)
    assert time.monotonic() - started < SLOW_S


def test_download_reports_http_errors_and_refused_connections(web: FakeWebServer) -> None:
    with pytest.raises(UserError, match=r"answered HTTP 404 \(Not Found\); the image may"):
        download_image(web.image_url("missing.jpg"), max_bytes=MB, policy=LAB)
    closed = f"http://127.0.0.1:{free_port()}/cat.jpg"
    with pytest.raises(UserError, match=r"from '127.0.0.1' \(the connection was refused\)"):
        download_image(closed, max_bytes=MB, policy=LAB)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.org/cat.jpg", "data:image/png;base64,AAAA", "cat.jpg"],
)
def test_download_refuses_addresses_that_are_not_http(url: str) -> None:
    with pytest.raises(UserError, match="is not an http:// or https:// address"):
        download_image(url, max_bytes=MB)


def test_download_leaves_content_checks_to_the_decoder(web: FakeWebServer) -> None:
    page = download_image(web.image_url("not-an-image.jpg"), max_bytes=MB, policy=LAB)
    cut = download_image(web.image_url("broken.jpg"), max_bytes=MB, policy=LAB)

    assert page.startswith(b"<!DOCTYPE html>")
    assert len(cut) == 1500


# --- private and local hosts (server-side request forgery) ---------------------------------


def test_download_refuses_loopback_by_default(web: FakeWebServer) -> None:
    url = web.image_url("good-0.jpg")
    before = len(web.requests)

    with pytest.raises(UserError) as caught:
        download_image(url, max_bytes=MB)
    assert str(caught.value) == (
        f"{url!r} points at 127.0.0.1, a private or local address that is not downloaded from; "
        "give a public image address (or set ALLOW_PRIVATE_HOSTS on a lab install)."
    )
    assert len(web.requests) == before  # refused before connecting


def test_download_refuses_a_name_that_resolves_to_loopback(web: FakeWebServer) -> None:
    url = web.image_url("good-0.jpg").replace("127.0.0.1", "localhost")
    before = len(web.requests)

    with pytest.raises(UserError, match=r"points at localhost \((127\.0\.0\.1|::1)\), a private"):
        download_image(url, max_bytes=MB)
    assert len(web.requests) == before


@pytest.mark.parametrize(
    "url",
    [
        "http://10.20.30.40/cat.jpg",  # never connected to: refused before any packet
        "http://172.16.0.9/cat.jpg",
        "http://192.168.1.1/cat.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/cat.jpg",
        "http://[fc00::1]/cat.jpg",
        "http://[fe80::1]/cat.jpg",
        "http://224.0.0.1/cat.jpg",
        "http://0.0.0.0/cat.jpg",
        "http://[::ffff:127.0.0.1]/cat.jpg",
    ],
)
def test_download_refuses_private_and_reserved_addresses(url: str) -> None:
    host = url.split("/")[2].strip("[]")
    message = f"{url!r} points at {host}, a private or local address"

    with pytest.raises(UserError, match=re.escape(message)):
        download_image(url, max_bytes=MB, timeout_s=TIMEOUT_S)


def test_download_checks_every_redirect_hop(web: FakeWebServer) -> None:
    only_the_first_host = HostPolicy(trusted=(ipaddress.ip_network("127.0.0.1/32"),))
    url = web.image_url("redirect-private.jpg")

    with pytest.raises(UserError, match=r"points at 127\.0\.0\.2, a private or local address"):
        download_image(url, max_bytes=MB, policy=only_the_first_host)
    assert download_image(web.image_url("redirect.jpg"), max_bytes=MB, policy=only_the_first_host)


def test_download_deadline_holds_for_a_slow_drip(web: FakeWebServer) -> None:
    started = time.monotonic()

    with pytest.raises(UserError, match=r"drip.jpg' did not arrive within 0.5 s; try again"):
        download_image(web.image_url("drip.jpg"), timeout_s=TIMEOUT_S, max_bytes=MB, policy=LAB)
    assert time.monotonic() - started < 2 * TIMEOUT_S + 0.5 < SLOW_S


def test_download_connects_to_the_address_it_checked(
    web: FakeWebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = socket.getaddrinfo
    answers = iter(["127.0.0.1"])  # a second lookup would get 127.0.0.3: DNS rebinding

    def rebinding_dns(host: str, *args, **kwargs):  # noqa: ANN002, ANN003 - socket's signature
        return resolve(next(answers, "127.0.0.3") if host == "cats.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    only_the_checked = HostPolicy(trusted=(ipaddress.ip_network("127.0.0.1/32"),))
    url = web.image_url("good-4.jpg").replace("127.0.0.1", "cats.test")

    data = download_image(url, max_bytes=MB, policy=only_the_checked)

    assert data == web.image_bytes("good-4.jpg")
    assert web.host_headers[-1] == url.split("/")[2]  # the server still sees the name asked for


def test_download_tries_the_next_checked_address_when_the_first_does_not_answer(
    web: FakeWebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve = socket.getaddrinfo

    def two_addresses(host: str, port: object, *args, **kwargs):  # noqa: ANN002, ANN003
        if host != "cats.test":
            return resolve(host, port, *args, **kwargs)
        # nothing listens on 127.0.0.2 (the fake server is bound to 127.0.0.1): refused
        return resolve("127.0.0.2", port, *args, **kwargs) + resolve(
            "127.0.0.1", port, *args, **kwargs
        )

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    url = web.image_url("good-1.jpg").replace("127.0.0.1", "cats.test")

    assert download_image(url, max_bytes=MB, policy=LAB) == web.image_bytes("good-1.jpg")
