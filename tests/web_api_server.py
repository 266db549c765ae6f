"""A local stand-in for the web: Openverse's and Google's search APIs plus the images they find.

A threaded ``http.server`` on 127.0.0.1 and a free port, answering in each real API's JSON
format (Openverse ``GET /v1/images/``, Google Custom Search ``GET /customsearch/v1``) and
serving good images and every kind of bad one a download must survive::

    with FakeWebServer() as web:
        settings = web.settings(Settings())        # OPENVERSE_URL etc. point at it
        monkeypatch.setenv(...) for each web.env() # for AppTest or a streamlit subprocess

Searches return the good images (``GOOD_COUNT`` of them, two Openverse pages); a query with
the word "tricky" puts the problem images first (see ``TRICKY``). The queries "ratelimit",
"servererror", "badjson", "slow" and "nothing" make the APIs misbehave accordingly.
Run it alone with ``python -m tests.web_api_server [--port N]`` to point an app at it by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

GOOGLE_KEY = "test-google-key"
GOOGLE_CX = "test-engine-id"
GOOGLE_PATH = "/customsearch/v1"
GOOD_COUNT = 24
HUGE_DECLARED_BYTES = 60 * 1024 * 1024
ENDLESS_CAP_BYTES = 64 * 1024 * 1024  # the endless image stops here if nobody hangs up
LICENCES = (("by", "2.0"), ("by-sa", "4.0"), ("cc0", "1.0"), ("by-nc", "3.0"), ("pdm", "1.0"))


FAKE_WEB_SLOW_S = 2.0  # how long the shared `web` fixture's server sleeps on "slow"


@dataclasses.dataclass(frozen=True)
class FakeImage:
    """One image the fake search APIs can return."""

    name: str  # the path under /images/
    title: str
    creator: str | None
    licence: tuple[str, str]  # Openverse (license, license_version)


# The problem images, by name: what each one does when downloaded.
TRICKY: dict[str, str] = {
    "photo.png": "a good PNG",
    "broken.jpg": "a JPEG cut off half way (content type image/jpeg)",
    "not-an-image.jpg": "an HTML page served as text/html",
    "huge.jpg": "declares a Content-Length of 60 MB",
    "endless.jpg": "no Content-Length, streams a JPEG header then zeros without end",
    "slow.jpg": "answers only after `slow_seconds`",
    "redirect.jpg": "302 to good-0.jpg on this server (followed)",
    "redirect-file.jpg": "302 to file:///etc/passwd (must be refused)",
    "redirect-loop.jpg": "redirects eight times before reaching an image",
    "missing.jpg": "404 Not Found",
}


def make_jpeg(index: int, size: tuple[int, int] = (300, 250), quality: int = 90) -> bytes:
    """A distinct, clearly different JPEG for each index (random blocks, scaled up)."""
    rng = np.random.default_rng(1000 + index)
    blocks = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def make_png(index: int = 99, size: tuple[int, int] = (200, 160)) -> bytes:
    image = Image.open(io.BytesIO(make_jpeg(index, size))).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class FakeWebServer:
    """Fake Openverse + Google + image host on 127.0.0.1; start()/stop() or a with block."""

    def __init__(self, *, slow_seconds: float = 3.0, host: str = "127.0.0.1", port: int = 0):
        self.slow_seconds = slow_seconds
        self.requests: list[str] = []  # paths with query, in arrival order
        self.host_headers: list[str] = []  # the Host header of each request, in the same order
        self.good = [
            FakeImage(
                f"good-{i}.jpg",
                f"Test cat {i}",
                f"Photographer {i}",
                LICENCES[i % len(LICENCES)],
            )
            for i in range(GOOD_COUNT)
        ]
        self.tricky = [
            FakeImage(name, f"Tricky: {name}", None if i % 2 else "Tricky Creator", ("by", "4.0"))
            for i, name in enumerate(TRICKY)
        ]
        self._bodies = {f"good-{i}.jpg": make_jpeg(i) for i in range(GOOD_COUNT)}
        self._bodies["photo.png"] = make_png()
        self._bodies["broken.jpg"] = make_jpeg(98)[:1500]
        self._thumbnail = make_jpeg(97, (120, 100), quality=70)  # placeholder
        self._thumb_names: dict[str, str] = {}  # Openverse image id -> image name
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- life cycle --------------------------------------------------------------------

    def start(self) -> FakeWebServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeWebServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses and settings --------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def image_url(self, name: str) -> str:
        return f"{self.base_url}/images/{name}"

    def image_bytes(self, name: str) -> bytes:
        """The exact bytes served for a good image (e.g. "good-3.jpg", "photo.png")."""
        return self._bodies[name]

    def env(self, *, with_google: bool = True) -> dict[str, str]:
        """Environment variables that point the product's web search at this server."""
        values = {"OPENVERSE_URL": self.base_url, "GOOGLE_SEARCH_URL": self.base_url + GOOGLE_PATH}
        if with_google:
            values.update(GOOGLE_API_KEY=GOOGLE_KEY, GOOGLE_CSE_ID=GOOGLE_CX)
        return values

    def settings(self, base: Any, *, with_google: bool = True) -> Any:
        """A copy of a core.config.Settings pointing its web search at this server."""
        return dataclasses.replace(
            base,
            openverse_url=self.base_url,
            google_search_url=self.base_url + GOOGLE_PATH,
            google_api_key=GOOGLE_KEY if with_google else None,
            google_cse_id=GOOGLE_CX if with_google else None,
        )

    def catalogue(self, query: str) -> list[FakeImage]:
        return (self.tricky + self.good) if "tricky" in query.lower() else list(self.good)

    # --- the HTTP handler --------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        web = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "FakeWeb/1.0"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output clean

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with web._lock:
                    web.requests.append(self.path)
                    web.host_headers.append(self.headers.get("Host", ""))
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                try:
                    if parts.path in ("/v1/images/", "/v1/images"):
                        web._openverse(self, query)
                    elif parts.path == GOOGLE_PATH:
                        web._google(self, query)
                    elif parts.path.startswith("/v1/images/") and parts.path.endswith("/thumb/"):
                        identifier = parts.path.split("/")[3]
                        web._send_thumbnail(self, web._thumb_names.get(identifier, ""))
                    elif parts.path.startswith("/thumbs/"):
                        web._send_thumbnail(self, parts.path.removeprefix("/thumbs/"))
                    elif parts.path.startswith("/images/"):
                        web._image(self, parts.path.removeprefix("/images/"))
                    else:
                        web._send(self, 404, b"not found", "text/plain")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up, as it should for huge or endless bodies

        return Handler

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _json(self, handler: BaseHTTPRequestHandler, status: int, document: Any) -> None:
        self._send(handler, status, json.dumps(document).encode(), "application/json")

    def _misbehave(self, handler: BaseHTTPRequestHandler, words: str, error: Any) -> bool:
        """Answer the special queries; True when the answer has been sent."""
        if "ratelimit" in words:
            self._json(handler, 429, error)
        elif "servererror" in words:
            self._send(handler, 502, b"<html><body>Bad gateway</body></html>", "text/html")
        elif "badjson" in words:
            self._send(handler, 200, b"<html><body>Maintenance</body></html>", "text/html")
        elif "slow" in words:
            time.sleep(self.slow_seconds)
            self._json(handler, 200, {})
        else:
            return False
        return True

    def _openverse(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        words = query.get("q", "")
        throttled = {"detail": "Request was throttled. Expected available in 60 seconds."}
        if self._misbehave(handler, words, throttled):
            return
        try:
            page, page_size = int(query.get("page", "1")), int(query.get("page_size", "20"))
        except ValueError:
            self._json(handler, 400, {"detail": {"page": ["A valid integer is required."]}})
            return
        if page_size > 20:
            detail = "Authentication credentials were not provided. page_size may not exceed 20"
            self._json(handler, 401, {"detail": detail + " for anonymous requests."})
            return
        found = [] if "nothing" in words else self.catalogue(words)
        page_count = -(-len(found) // page_size)
        if page < 1 or (page > max(page_count, 1)):
            self._json(handler, 400, {"detail": "Invalid page: the page is out of range."})
            return
        chunk = found[(page - 1) * page_size : page * page_size]
        self._json(
            handler,
            200,
            {
                "result_count": len(found),
                "page_count": page_count,
                "page_size": page_size,
                "page": page,
                "results": [self._openverse_item(image) for image in chunk],
                "warnings": [],
            },
        )

    def _openverse_item(self, image: FakeImage) -> dict[str, Any]:
        identifier = f"00000000-0000-4000-8000-{zlib.crc32(image.name.encode()):012d}"
        self._thumb_names[identifier] = image.name
        licence, version = image.licence
        api = f"{self.base_url}/v1/images/{identifier}"
        return {
            "id": identifier,
            "title": image.title,
            "indexed_on": "2024-05-01T12:00:00Z",
            "foreign_landing_url": f"https://www.flickr.com/photos/example/{identifier[-6:]}",
            "url": self.image_url(image.name),
            "creator": image.creator,
            "creator_url": "https://www.flickr.com/photos/example" if image.creator else None,
            "license": licence,
            "license_version": version,
            "license_url": f"https://creativecommons.org/licenses/{licence}/{version}/",
            "provider": "flickr",
            "source": "flickr",
            "category": "photograph",
            "filesize": None,
            "filetype": image.name.rsplit(".", 1)[-1],
            "tags": [{"accuracy": None, "name": "cat", "unstable__provider": "flickr"}],
            "attribution": f'"{image.title}" by {image.creator} is licensed under CC {licence}.',
            "fields_matched": ["title"],
            "mature": False,
            "height": 250,
            "width": 300,
            "thumbnail": f"{api}/thumb/",
            "detail_url": f"{api}/",
            "related_url": f"{api}/related/",
            "unstable__sensitivity": [],
        }

    @staticmethod
    def _google_error(code: int, message: str, reason: str, status: str) -> dict[str, Any]:
        return {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": status,
            }
        }

    def _google(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("key") != GOOGLE_KEY:
            message = "The request is missing a valid API key."
            self._json(
                handler, 403, self._google_error(403, message, "forbidden", "PERMISSION_DENIED")
            )
            return
        invalid = self._google_error(
            400, "Request contains an invalid argument.", "badRequest", "INVALID_ARGUMENT"
        )
        if query.get("cx") != GOOGLE_CX or query.get("searchType") != "image":
            self._json(handler, 400, invalid)
            return
        words = query.get("q", "")
        quota = self._google_error(
            429,
            "Quota exceeded for quota metric 'Queries' and limit 'Queries per day' of service "
            "'customsearch.googleapis.com' for consumer 'project_number:123456'.",
            "rateLimitExceeded",
            "RESOURCE_EXHAUSTED",
        )
        if self._misbehave(handler, words, quota):
            return
        try:
            start, num = int(query.get("start", "1")), int(query.get("num", "10"))
        except ValueError:
            self._json(handler, 400, invalid)
            return
        if not 1 <= num <= 10 or start < 1 or start + num > 101:
            self._json(handler, 400, invalid)
            return
        found = [] if "nothing" in words else self.catalogue(words)
        document: dict[str, Any] = {
            "kind": "customsearch#search",
            "queries": {
                "request": [
                    {
                        "title": f"Google Custom Search - {words}",
                        "totalResults": str(len(found)),
                        "searchTerms": words,
                        "count": num,
                        "startIndex": start,
                        "cx": GOOGLE_CX,
                        "searchType": "image",
                    }
                ]
            },
            "searchInformation": {
                "searchTime": 0.21,
                "formattedSearchTime": "0.21",
                "totalResults": str(len(found)),
                "formattedTotalResults": f"{len(found):,}",
            },
        }
        chunk = found[start - 1 : start - 1 + num]
        if chunk:  # like Google, no "items" key at all when nothing is found
            document["items"] = [self._google_item(image) for image in chunk]
        self._json(handler, 200, document)

    def _google_item(self, image: FakeImage) -> dict[str, Any]:
        return {
            "kind": "customsearch#result",
            "title": image.title,
            "htmlTitle": f"<b>{image.title}</b>",
            "link": self.image_url(image.name),
            "displayLink": "www.example.org",
            "snippet": image.title,
            "htmlSnippet": image.title,
            "mime": "image/jpeg",
            "fileFormat": "image/jpeg",
            "image": {
                "contextLink": f"https://www.example.org/cats/{image.name}.html",
                "height": 250,
                "width": 300,
                "byteSize": 12345,
                "thumbnailLink": f"{self.base_url}/thumbs/{image.name}",
                "thumbnailHeight": 100,
                "thumbnailWidth": 120,
            },
        }

    def _send_thumbnail(self, handler: BaseHTTPRequestHandler, name: str) -> None:
        """A small JPEG of a good image (a grey placeholder for the problem ones)."""
        body = self._bodies.get(name)
        if body is None or name == "broken.jpg":
            self._send(handler, 200, self._thumbnail, "image/jpeg")
            return
        image = Image.open(io.BytesIO(body)).convert("RGB")
        image.thumbnail((150, 150))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=75)
        self._send(handler, 200, buffer.getvalue(), "image/jpeg")

    def _image(self, handler: BaseHTTPRequestHandler, name: str) -> None:
        if name in self._bodies:
            kind = "image/png" if name.endswith(".png") else "image/jpeg"
            self._send(handler, 200, self._bodies[name], kind)
        elif name == "not-an-image.jpg":
            page = b"<!DOCTYPE html><html><body><h1>Sign in to see this photo</h1></body></html>"
            self._send(handler, 200, page, "text/html; charset=utf-8")
        elif name == "huge.jpg":
            handler.send_response(200)
            handler.send_header("Content-Type", "image/jpeg")
            handler.send_header("Content-Length", str(HUGE_DECLARED_BYTES))
            handler.end_headers()
            handler.wfile.write(make_jpeg(96)[:1000])  # then hang up: nobody should read on
        elif name == "endless.jpg":
            handler.send_response(200)
            handler.send_header("Content-Type", "image/jpeg")
            handler.end_headers()  # HTTP/1.0 without Content-Length: the body ends at close
            handler.wfile.write(make_jpeg(95)[:600])
            block, sent = bytes(64 * 1024), 0
            while sent < ENDLESS_CAP_BYTES:
                handler.wfile.write(block)
                sent += len(block)
        elif name == "slow.jpg":
            time.sleep(self.slow_seconds)
            self._send(handler, 200, self._bodies["good-1.jpg"], "image/jpeg")
        elif name == "drip.jpg":  # a byte every 50 ms: each read is quick, the whole is not
            body = self._bodies["good-1.jpg"]
            handler.send_response(200)
            handler.send_header("Content-Type", "image/jpeg")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            stop = time.monotonic() + self.slow_seconds
            for byte in body:
                if time.monotonic() > stop:
                    break
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.05)
        elif name == "redirect-private.jpg":  # to another loopback address, on the same port
            port = handler.server.server_address[1]
            target = f"http://127.0.0.2:{port}/images/good-0.jpg"
            self._send(handler, 302, b"", "text/plain", {"Location": target})
        elif name == "redirect.jpg":
            self._send(handler, 302, b"", "text/plain", {"Location": "/images/good-0.jpg"})
        elif name == "redirect-file.jpg":
            self._send(handler, 302, b"", "text/plain", {"Location": "file:///etc/passwd"})
        elif name.startswith("redirect-loop"):
            hops = int(name.removeprefix("redirect-loop").removesuffix(".jpg").lstrip("-") or 8)
            target = "/images/good-2.jpg" if hops <= 1 else f"/images/redirect-loop-{hops - 1}.jpg"
            self._send(handler, 302, b"", "text/plain", {"Location": target})
        else:
            self._send(handler, 404, b"<html><body>Not found</body></html>", "text/html")


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake Openverse/Google/image host.")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    args = parser.parse_args()
    with FakeWebServer(port=args.port) as web:
        for key, value in web.env().items():
            print(f"export {key}={value}")
        print("serving; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
