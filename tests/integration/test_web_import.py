"""Importing web search results into the embedded MongoDB from the local fake web."""

from __future__ import annotations

import time

import pytest
from pymongo.database import Database

from core.db.training_images import TrainingImageRepository
from core.errors import UserError
from core.labels import CAT_PHENOTYPE
from core.services.web_import import import_web_images
from core.web.providers import GoogleImageProvider, OpenverseProvider, parse_url_list
from tests.label_helpers import BLUE
from tests.web_api_server import FAKE_WEB_SLOW_S, GOOGLE_CX, GOOGLE_KEY, FakeWebServer

MB = 1024 * 1024
SLOW_S = FAKE_WEB_SLOW_S  # how long the fake server sleeps on "slow" requests
TIMEOUT_S = 1.0  # generous for good images on a busy machine; slow ones still take SLOW_S


pytestmark = pytest.mark.usefixtures("no_proxy")  # fixtures in tests/conftest.py


def stored(database: Database) -> dict[str, dict]:
    """Every stored image document by source URL."""
    return {doc["source_url"]: doc for doc in database["training_images"].find()}


def web_import(database: Database, results, **kwargs):
    kwargs.setdefault("schema", CAT_PHENOTYPE)
    kwargs.setdefault("by", "ann")
    kwargs.setdefault("max_bytes", MB)
    kwargs.setdefault("timeout_s", TIMEOUT_S)
    kwargs.setdefault("allow_private_hosts", True)  # the fake web server is on 127.0.0.1
    return import_web_images(TrainingImageRepository(database), results, **kwargs)


def test_openverse_selection_is_stored_with_url_licence_and_creator(
    mongo_db: Database, web: FakeWebServer
) -> None:
    page = OpenverseProvider(web.base_url).search("cat")
    chosen = page.results[:3]

    report = web_import(mongo_db, chosen)

    assert report.added == 3 and not report.rejected
    docs = stored(mongo_db)
    for result in chosen:
        doc = docs[result.url]
        assert doc["source"] == "web_search"
        assert (doc["licence"], doc["creator"]) == (result.licence, result.creator)
        assert doc["filename"] == result.url.rsplit("/", 1)[-1]
        assert doc["label"] == {} and doc["labelled_by"] is None
    assert docs[web.image_url("good-0.jpg")]["licence"] == "CC BY 2.0"
    assert docs[web.image_url("good-1.jpg")]["creator"] == "Photographer 1"
    image = TrainingImageRepository(mongo_db).get(str(docs[web.image_url("good-2.jpg")]["_id"]))
    assert TrainingImageRepository(mongo_db).image_bytes(image) == web.image_bytes("good-2.jpg")


def test_every_problem_image_is_reported_and_the_good_ones_stored(
    mongo_db: Database, web: FakeWebServer
) -> None:
    results = OpenverseProvider(web.base_url).search("tricky cats").results  # tricky ones first
    calls: list[tuple[int, int, str]] = []
    started = time.monotonic()

    report = web_import(mongo_db, results, progress=lambda *a: calls.append(a))

    assert time.monotonic() - started < SLOW_S + 3
    assert [o.filename for o in report.outcomes] == [r.url for r in results]  # same order
    why = {o.filename.rsplit("/", 1)[-1]: o.reason for o in report.rejected}
    assert set(why) == {
        "broken.jpg",
        "not-an-image.jpg",
        "huge.jpg",
        "endless.jpg",
        "slow.jpg",
        "redirect-file.jpg",
        "redirect-loop.jpg",
        "missing.jpg",
    }
    assert "truncated or corrupt" in why["broken.jpg"]
    assert "is not an image (an HTML page" in why["not-an-image.jpg"]
    assert "is 60 MB, over the 1 MB limit" in why["huge.jpg"]
    assert "over the 1 MB limit" in why["endless.jpg"]
    assert f"did not arrive within {TIMEOUT_S:g} s" in why["slow.jpg"]
    assert "redirects to 'file:///etc/passwd'" in why["redirect-file.jpg"]
    assert "redirects more than 5 times" in why["redirect-loop.jpg"]
    assert "HTTP 404" in why["missing.jpg"]
    # photo.png, redirect.jpg (-> good-0.jpg's bytes), and good-1 to good-9 on page 1
    assert report.added == 11
    docs = stored(mongo_db)
    assert docs[web.image_url("photo.png")]["format"] == "PNG"
    assert docs[web.image_url("redirect.jpg")]["licence"] == "CC BY 4.0"
    assert report.duplicates == 1  # good-0.jpg, already stored through the redirect
    assert [c[0] for c in calls] == list(range(1, len(results) + 1))
    assert calls[-1][1] == len(results)


def test_google_results_are_stored_with_their_url(mongo_db: Database, web: FakeWebServer) -> None:
    provider = GoogleImageProvider(GOOGLE_KEY, GOOGLE_CX, web.base_url + "/customsearch/v1")
    results = provider.search("cat", page=2).results[:2]

    report = web_import(mongo_db, results)

    assert report.added == 2
    doc = stored(mongo_db)[web.image_url("good-10.jpg")]
    assert (doc["source"], doc["licence"], doc["creator"]) == ("web_search", None, None)


def test_pasted_urls_import_with_the_chosen_label(mongo_db: Database, web: FakeWebServer) -> None:
    results, errors = parse_url_list(
        f"{web.image_url('good-5.jpg')}\n{web.image_url('good-6.jpg')}\nnot a url"
    )

    report = web_import(mongo_db, results, label=BLUE, by="bob")

    assert len(errors) == 1 and report.added == 2
    for doc in stored(mongo_db).values():
        assert doc["label"] == BLUE and doc["is_labelled"] and doc["labelled_by"] == "bob"


def test_importing_the_same_selection_twice_counts_duplicates(
    mongo_db: Database, web: FakeWebServer
) -> None:
    results = OpenverseProvider(web.base_url).search("cat").results[:2]

    web_import(mongo_db, results)
    again = web_import(mongo_db, results)

    assert (again.added, again.duplicates) == (0, 2)
    assert mongo_db["training_images"].count_documents({}) == 2


def test_an_unknown_label_value_is_refused_before_downloading(
    mongo_db: Database, web: FakeWebServer
) -> None:
    results = OpenverseProvider(web.base_url).search("cat").results[:1]
    before = len(web.requests)

    with pytest.raises(UserError, match="Colour 'tartan' is not known"):
        web_import(mongo_db, results, label={"is_cat": True, "colour": "tartan"})
    assert len(web.requests) == before


def test_a_download_function_can_be_swapped(mongo_db: Database, web: FakeWebServer) -> None:
    results, _ = parse_url_list("https://cats.example/blue.jpg")
    asked: list[tuple[str, float, int]] = []

    def download(url: str, *, timeout_s: float, max_bytes: int) -> bytes:
        asked.append((url, timeout_s, max_bytes))
        return web.image_bytes("good-7.jpg")

    report = web_import(mongo_db, results, download=download, timeout_s=3, max_bytes=2 * MB)

    assert report.added == 1
    assert asked == [("https://cats.example/blue.jpg", 3, 2 * MB)]
    assert stored(mongo_db)["https://cats.example/blue.jpg"]["filename"] == "blue.jpg"
