"""Web search providers and safe downloads against a local fake of Openverse, Google and images."""

from __future__ import annotations

import time

import pytest

from core.config import Settings, free_port
from core.errors import ConfigError, UserError
from core.web.providers import (
    GoogleImageProvider,
    OpenverseProvider,
    SearchResult,
    UrlListProvider,
    available_providers,
    make_provider,
    openverse_licence,
    parse_url_list,
)
from tests.web_api_server import FAKE_WEB_SLOW_S, GOOD_COUNT, GOOGLE_CX, GOOGLE_KEY, FakeWebServer

MB = 1024 * 1024
SLOW_S = FAKE_WEB_SLOW_S  # how long the fake server sleeps on "slow" requests
TIMEOUT_S = 0.5  # the client timeout in these tests


pytestmark = pytest.mark.usefixtures("no_proxy")  # fixtures in tests/conftest.py


@pytest.fixture
def openverse(web: FakeWebServer) -> OpenverseProvider:
    return OpenverseProvider(web.base_url, timeout_s=TIMEOUT_S)


@pytest.fixture
def google(web: FakeWebServer) -> GoogleImageProvider:
    return GoogleImageProvider(
        GOOGLE_KEY, GOOGLE_CX, web.base_url + "/customsearch/v1", timeout_s=TIMEOUT_S
    )


# --- Openverse ----------------------------------------------------------------------------


def test_openverse_results_keep_url_licence_creator_and_landing_page(
    web: FakeWebServer, openverse: OpenverseProvider
) -> None:
    page = openverse.search("british shorthair")

    assert (page.page, page.page_count, page.total) == (1, 2, GOOD_COUNT)
    assert len(page.results) == 20
    first = page.results[0]
    assert first == SearchResult(
        url=web.image_url("good-0.jpg"),
        thumbnail_url=first.thumbnail_url,
        title="Test cat 0",
        licence="CC BY 2.0",
        creator="Photographer 0",
        landing_url=first.landing_url,
        provider="openverse",
    )
    assert first.thumbnail_url.startswith(web.base_url + "/v1/images/")
    assert first.landing_url.startswith("https://www.flickr.com/photos/")
    assert {r.licence for r in page.results} >= {
        "CC BY-SA 4.0",
        "CC0 1.0",
        "Public Domain Mark 1.0",
    }
    assert any("q=british+shorthair&page=1&page_size=20" in p for p in web.requests)


def test_openverse_second_page_holds_the_rest(openverse: OpenverseProvider) -> None:
    page = openverse.search("cat", page=2)

    assert page.page == 2 and len(page.results) == GOOD_COUNT - 20
    assert page.results[0].title == "Test cat 20"


def test_openverse_page_past_the_end_is_a_clear_error(openverse: OpenverseProvider) -> None:
    with pytest.raises(UserError, match=r"Openverse did not accept the search \(HTTP 400: "):
        openverse.search("cat", page=3)


def test_openverse_no_results_is_an_empty_page(openverse: OpenverseProvider) -> None:
    page = openverse.search("nothing at all")

    assert (page.results, page.total, page.page_count) == ([], 0, 0)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ratelimit", r"Openverse says there were too many searches \(HTTP 429: Request was "),
        ("servererror", r"Openverse had a problem answering \(HTTP 502\); try again in a few"),
        ("badjson", "Openverse answered with something that is not a search result"),
        ("slow", r"Openverse did not answer within 0.5 s; try again in a minute\.$"),
    ],
)
def test_openverse_failures_are_one_sentence(
    openverse: OpenverseProvider, query: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        openverse.search(query)


def test_openverse_unreachable_names_the_host() -> None:
    provider = OpenverseProvider(f"http://127.0.0.1:{free_port()}", timeout_s=TIMEOUT_S)

    with pytest.raises(UserError, match=r"Could not reach Openverse at '127.0.0.1' \(the conn"):
        provider.search("cat")


@pytest.mark.parametrize(
    ("query", "page", "message"),
    [
        ("", 1, "The search is empty"),
        ("   \n ", 1, "The search is empty"),
        ("cat " * 60, 1, "shorten it to 200 or fewer"),
        ("cat", 0, "Page 0 does not exist; pages are numbered from 1"),
        ("cat", -2, "Page -2 does not exist"),
        ("cat", "2", "Page '2' does not exist"),
        ("cat", True, "Page True does not exist"),
    ],
)
def test_bad_queries_and_pages_are_refused_before_asking(
    web: FakeWebServer, openverse: OpenverseProvider, query: str, page: object, message: str
) -> None:
    before = len(web.requests)

    with pytest.raises(UserError, match=message):
        openverse.search(query, page=page)  # type: ignore[arg-type]
    assert len(web.requests) == before


def test_openverse_page_size_over_the_anonymous_limit_is_a_programming_error(
    openverse: OpenverseProvider,
) -> None:
    with pytest.raises(ValueError, match="page_size 50"):
        openverse.search("cat", page_size=50)


@pytest.mark.parametrize(
    ("code", "version", "expected"),
    [
        ("by-nc-sa", "4.0", "CC BY-NC-SA 4.0"),
        ("cc0", "1.0", "CC0 1.0"),
        ("pdm", "", "Public Domain Mark"),
        (None, "2.0", None),
        ("", "", None),
    ],
)
def test_openverse_licence_reads_like_people_write_it(code, version, expected) -> None:
    assert openverse_licence(code, version) == expected


# --- Google -------------------------------------------------------------------------------


def test_google_results_and_paging(web: FakeWebServer, google: GoogleImageProvider) -> None:
    page = google.search("blue cat", page=2)

    assert (page.page, page.page_count, page.total) == (2, 3, GOOD_COUNT)
    assert [r.title for r in page.results][:2] == ["Test cat 10", "Test cat 11"]
    result = page.results[0]
    assert result.url == web.image_url("good-10.jpg")
    assert result.thumbnail_url == f"{web.base_url}/thumbs/good-10.jpg"
    assert result.landing_url == "https://www.example.org/cats/good-10.jpg.html"
    assert (result.licence, result.creator, result.provider) == (None, None, "google")
    request = next(p for p in web.requests if "blue+cat" in p and "customsearch" in p)
    assert "searchType=image" in request and "start=11" in request and "num=10" in request


def test_google_without_items_is_an_empty_page(google: GoogleImageProvider) -> None:
    page = google.search("nothing")

    assert (page.results, page.total, page.page_count) == ([], 0, 0)


def test_google_bad_key_says_which_settings_to_check(web: FakeWebServer) -> None:
    provider = GoogleImageProvider("wrong-key", GOOGLE_CX, web.base_url + "/customsearch/v1")

    with pytest.raises(UserError) as caught:
        provider.search("cat")
    assert str(caught.value) == (
        "Google refused the search (HTTP 403: The request is missing a valid API key); "
        "check GOOGLE_API_KEY and GOOGLE_CSE_ID (the search engine id)."
    )


def test_google_bad_engine_id_points_at_the_engine_id(web: FakeWebServer) -> None:
    provider = GoogleImageProvider(GOOGLE_KEY, "wrong-cx", web.base_url + "/customsearch/v1")

    with pytest.raises(UserError, match=r"HTTP 400: Request contains an invalid argument\); chec"):
        provider.search("cat")


def test_google_quota_and_timeout(google: GoogleImageProvider) -> None:
    with pytest.raises(UserError, match=r"Google says there were too many searches \(HTTP 429"):
        google.search("ratelimit")
    started = time.monotonic()
    with pytest.raises(UserError, match="Google did not answer within 0.5 s"):
        google.search("slow")
    assert time.monotonic() - started < SLOW_S


def test_google_pages_past_the_hundredth_result_do_not_exist(google: GoogleImageProvider) -> None:
    with pytest.raises(UserError, match="only its first 100 results, so page 11 does not exist"):
        google.search("cat", page=11)


def test_google_needs_key_and_engine_id() -> None:
    with pytest.raises(ConfigError, match="needs both GOOGLE_API_KEY and GOOGLE_CSE_ID"):
        GoogleImageProvider("key", "")


# --- choosing a provider ------------------------------------------------------------------


def test_available_providers_follow_the_settings(web: FakeWebServer) -> None:
    assert available_providers(Settings()) == ["openverse", "urls"]
    assert available_providers(Settings(google_api_key="k")) == ["openverse", "urls"]
    assert available_providers(web.settings(Settings())) == ["openverse", "google", "urls"]


def test_make_provider_builds_each_one_from_settings(web: FakeWebServer) -> None:
    settings = web.settings(Settings())

    assert make_provider(settings, "openverse").search("cat").total == GOOD_COUNT
    assert make_provider(settings, "google").search("cat").total == GOOD_COUNT
    assert make_provider(settings, "urls").search(web.image_url("a.jpg")).total == 1
    with pytest.raises(ConfigError, match="GOOGLE_API_KEY"):
        make_provider(Settings(), "google")
    with pytest.raises(UserError, match="Image search 'bing' is not known; use one of: openverse"):
        make_provider(settings, "bing")


# --- pasted URLs --------------------------------------------------------------------------


def test_pasted_urls_become_results_and_bad_lines_are_named() -> None:
    text = "\n".join(
        [
            "https://example.org/cats/blue%20cat.jpg",
            "",
            "# my list",
            "  http://example.org/b.png  ",
            "ftp://example.org/c.jpg",
            "file:///etc/passwd",
            "https://example.org/with space.jpg",
            "http:///no-host.jpg",
            "https://example.org:99999/bad-port.jpg",
            "https://example.org/cats/blue%20cat.jpg",
        ]
    )

    results, errors = parse_url_list(text)

    assert [r.url for r in results] == [
        "https://example.org/cats/blue%20cat.jpg",
        "http://example.org/b.png",
    ]
    assert results[0].title == "blue cat.jpg" and results[0].provider == "urls"
    assert errors == [
        "Line 5 ('ftp://example.org/c.jpg') is not an http:// or https:// address; paste one "
        "http:// or https:// image address per line.",
        "Line 6 ('file:///etc/passwd') is not an http:// or https:// address; paste one "
        "http:// or https:// image address per line.",
        "Line 7 ('https://example.org/with space.jpg') contains spaces; paste one http:// or "
        "https:// image address per line.",
        "Line 8 ('http:///no-host.jpg') has no host name; paste one http:// or https:// image "
        "address per line.",
        "Line 9 ('https://example.org:99999/bad-port.jpg') is not a valid web address; paste "
        "one http:// or https:// image address per line.",
    ]


def test_pasted_url_list_has_a_limit() -> None:
    text = "\n".join(f"https://example.org/{i}.jpg" for i in range(205))

    results, errors = parse_url_list(text)

    assert len(results) == 200
    assert errors == [
        "Line 201 is past the limit of 200 URLs at a time; import these first, then paste the rest."
    ]


def test_url_list_provider_refuses_a_bad_line_or_nothing() -> None:
    with pytest.raises(UserError, match="Line 2 .* is not an http"):
        UrlListProvider().search("https://example.org/a.jpg\nexample.org/b.jpg")
    with pytest.raises(UserError, match="No image address was pasted"):
        UrlListProvider().search("\n# nothing\n")
