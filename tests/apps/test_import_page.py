"""The Import page under AppTest, against the embedded MongoDB: uploads, zips, web search and
pasted URLs. The web image search talks to a small local HTTP server that answers like
Openverse (the one fake: the internet is an edge we do not own)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from pymongo.database import Database

from core.db.training_images import TrainingImageRepository
from tests.console_helpers import (
    add_images,
    all_text,
    jpeg_bytes,
    open_page,
    run_ok,
    set_label_widgets,
    widget,
)
from tests.label_helpers import BLUE


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_uploading_two_images_and_a_zip_gives_a_report(console: Database) -> None:
    repository = TrainingImageRepository(console)
    archive = zip_bytes(
        {
            "cats/blue/a.jpg": jpeg_bytes(21),
            "cats/not_cat/b.jpg": jpeg_bytes(22),
            "cats/broken.jpg": b"this is not a picture",
        }
    )
    at = open_page("import_images.py")

    at.file_uploader[0].set_value(
        [
            ("loose-1.jpg", jpeg_bytes(23), "image/jpeg"),
            ("loose-2.jpg", jpeg_bytes(24), "image/jpeg"),
            ("cats.zip", archive, "application/zip"),
        ]
    )
    run_ok(at)
    set_label_widgets(at, "upload_label", {"is_cat": True, "colour": "cream"})
    run_ok(at)
    widget(at.button, "Import 3 files").click()
    run_ok(at)

    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics == {
        "Added": "4",
        "Possible duplicates": "0",
        "Already stored": "0",
        "Rejected": "1",
    }
    assert "Added 4 images" in at.warning[0].value
    rejected = at.dataframe[0].value
    assert list(rejected["File"]) == ["cats/broken.jpg"]
    assert "is not an image" in rejected["Reason"].iloc[0]
    labels = {image.filename: image.label for image in repository.find()}
    assert labels == {
        "loose-1.jpg": {"is_cat": True, "colour": "cream"},  # the label for loose images
        "loose-2.jpg": {"is_cat": True, "colour": "cream"},
        "cats/blue/a.jpg": BLUE,  # labelled by its folder
        "cats/not_cat/b.jpg": {"is_cat": False},
    }
    assert at.file_uploader[0].value in (None, [])  # a fresh uploader for the next batch


def test_uploading_the_same_images_again_reports_them_as_already_stored(
    console: Database,
) -> None:
    add_images(TrainingImageRepository(console), [None], first_seed=23)
    at = open_page("import_images.py")

    at.file_uploader[0].set_value([("again.jpg", jpeg_bytes(23), "image/jpeg")])
    run_ok(at)
    widget(at.button, "Import 1 file").click()
    run_ok(at)

    assert {m.label: m.value for m in at.metric}["Already stored"] == "1"


class FakeOpenverse(BaseHTTPRequestHandler):
    """Answers /v1/images/ like Openverse, and serves the images it lists."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        base = f"http://127.0.0.1:{self.server.server_port}"
        if parts.path == "/v1/images/":
            query = parse_qs(parts.query)
            results = [
                {
                    "url": f"{base}/img/{n}.jpg",
                    "thumbnail": f"{base}/img/{n}.jpg",
                    "title": f"Blue cat {n}",
                    "license": "by",
                    "license_version": "2.0",
                    "creator": "Cleo Photographer",
                    "foreign_landing_url": f"{base}/page/{n}",
                }
                for n in (31, 32, 33)
            ]
            body = json.dumps({"result_count": 3, "page_count": 1, "results": results})
            assert query["q"] == ["blue cat"]
            self._send(200, "application/json", body.encode())
        elif parts.path.startswith("/img/"):
            self._send(200, "image/jpeg", jpeg_bytes(int(parts.path[5:].split(".")[0])))
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def openverse(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenverse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("OPENVERSE_URL", url)
    monkeypatch.setenv("ALLOW_PRIVATE_HOSTS", "true")  # the fake Openverse is on 127.0.0.1
    yield url
    server.shutdown()
    server.server_close()


def test_web_search_selection_is_imported_with_licence_and_creator(
    console: Database, openverse: str
) -> None:
    repository = TrainingImageRepository(console)
    at = open_page("import_images.py")

    widget(at.text_input, "Search for").input("blue cat")
    widget(at.button, "Search").click()
    run_ok(at)
    assert "**3** images found" in all_text(at)
    captions = [c.value for c in at.caption]
    assert "Blue cat 31 · CC BY 2.0 · Cleo Photographer" in captions
    at.checkbox(key=f"web_pick_{openverse}/img/31.jpg").check()
    run_ok(at)
    at.checkbox(key=f"web_pick_{openverse}/img/33.jpg").check()
    run_ok(at)
    widget(at.button, "Import 2 selected").click()
    run_ok(at)

    assert {m.label: m.value for m in at.metric}["Added"] == "2"
    images = sorted(repository.find(), key=lambda image: image.source_url)
    assert [image.source_url for image in images] == [
        f"{openverse}/img/31.jpg",
        f"{openverse}/img/33.jpg",
    ]
    assert {(i.source, i.licence, i.creator) for i in images} == {
        ("web_search", "CC BY 2.0", "Cleo Photographer")
    }


def test_pasted_urls_with_a_bad_line_say_which_line(console: Database) -> None:
    at = open_page("import_images.py")
    at.segmented_control(key="web_provider").set_value("urls")
    run_ok(at)

    at.text_area[0].input("https://example.org/cat.jpg\nftp://example.org/cat.jpg")
    widget(at.button, "Show these images").click()
    run_ok(at)

    assert "Line 2" in at.error[0].value
    assert not at.checkbox
