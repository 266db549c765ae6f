"""Web image search behind one interface: Openverse, Google Programmable Search, pasted URLs."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit

import httpx

from core.config import Settings
from core.errors import ConfigError, UserError, unknown_choice
from core.web.download import (
    connection_problem,
    host_of,
    open_response,
    read_capped,
    shorten,
    url_problem,
)

MAX_JSON_BYTES = 5 * 1024 * 1024
MAX_QUERY_CHARS = 200
MAX_PASTED_URLS = 200
OPENVERSE_MAX_PAGE_SIZE = 20  # anonymous requests may not ask for more
GOOGLE_MAX_PAGE_SIZE = 10
GOOGLE_MAX_RESULTS = 100  # the Custom Search JSON API never returns results past the 100th
PROVIDER_TITLES = {"openverse": "Openverse", "google": "Google", "urls": "Pasted URLs"}


@dataclass(frozen=True)
class SearchResult:
    """One image found on the web, with what we must keep about where it came from."""

    url: str  # the image itself
    thumbnail_url: str | None
    title: str
    licence: str | None  # e.g. "CC BY-SA 2.0"; None when the provider does not say
    creator: str | None
    landing_url: str | None  # the page the image is shown on
    provider: str  # "openverse", "google" or "urls"


@dataclass(frozen=True)
class SearchPage:
    results: list[SearchResult]
    page: int  # 1-based
    page_count: int  # pages the provider lets us reach (0 when nothing was found)
    total: int  # results the provider reports (may be capped by the provider)


class SearchProvider(Protocol):
    name: str

    def search(self, query: str, *, page: int = 1, page_size: int = 20) -> SearchPage: ...


def _title_from_url(url: str) -> str:
    parts = urlsplit(url)
    name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return name or parts.hostname or url


def parse_url_list(text: str) -> tuple[list[SearchResult], list[str]]:
    """Pasted image URLs, one per line, as results; plus one sentence per line that is not one.

    Blank lines and lines starting with # are ignored; a repeated URL is kept once.
    """
    results: list[SearchResult] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line in seen:
            continue
        if len(results) >= MAX_PASTED_URLS:
            errors.append(
                f"Line {number} is past the limit of {MAX_PASTED_URLS} URLs at a time; import "
                "these first, then paste the rest."
            )
            break
        if problem := url_problem(line):
            errors.append(
                f"Line {number} ({shorten(line, 80)!r}) {problem}; paste one http:// or "
                "https:// image address per line."
            )
            continue
        seen.add(line)
        results.append(
            SearchResult(
                url=line,
                thumbnail_url=line,
                title=_title_from_url(line),
                licence=None,
                creator=None,
                landing_url=None,
                provider="urls",
            )
        )
    return results, errors


# --- search providers ---------------------------------------------------------------------


def _check_query(query: str, page: int, page_size: int, max_page_size: int) -> str:
    text = " ".join(str(query).split())
    if not text:
        raise UserError("The search is empty; type a few words, e.g. 'blue british shorthair'.")
    if len(text) > MAX_QUERY_CHARS:
        raise UserError(
            f"The search is {len(text)} characters long; shorten it to {MAX_QUERY_CHARS} or fewer."
        )
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise UserError(f"Page {page!r} does not exist; pages are numbered from 1.")
    if not 1 <= page_size <= max_page_size:
        raise ValueError(f"page_size {page_size!r} must be between 1 and {max_page_size}.")
    return text


def _error_detail(body: bytes) -> str:
    """The message inside an API's JSON error body (Openverse or Google style), if any."""
    try:
        document = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    error = document.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    detail = document.get("detail") or document.get("message") or error
    if isinstance(detail, dict):
        detail = "; ".join(f"{k}: {v}" for k, v in detail.items())
    return str(detail) if detail else ""


def _get_json(
    url: str, *, title: str, timeout_s: float, config_hint: str, bad_request_hint: str
) -> dict[str, Any]:
    """GET a JSON document from a configured search API; UserError (one sentence) if not."""
    deadline = time.monotonic() + timeout_s
    try:
        # the provider's address is the operator's setting, not a user's: fetched as given
        with open_response(
            url, deadline=deadline, read_timeout_s=timeout_s, policy=None,
            accept="application/json",
        ) as (_final, response):  # fmt: skip
            if response.is_error:
                _raise_for_status(response, title, config_hint, bad_request_hint)
            body = read_capped(response, MAX_JSON_BYTES, deadline)
    except (httpx.HTTPError, OSError) as err:
        problem = connection_problem(err)
        if problem == "timeout":
            raise UserError(
                f"{title} did not answer within {timeout_s:g} s; try again in a minute."
            ) from None
        raise UserError(
            f"Could not reach {title} at {host_of(url)!r} ({problem}); check the internet "
            f"connection, or {config_hint}"
        ) from None
    try:
        if body is None:
            raise ValueError("too large")
        document = json.loads(body.decode("utf-8"))
        if not isinstance(document, dict):
            raise ValueError("not an object")
    except ValueError:
        raise UserError(
            f"{title} answered with something that is not a search result; try again later, "
            f"or {config_hint}"
        ) from None
    return document


def _raise_for_status(
    response: httpx.Response, title: str, config_hint: str, bad_request_hint: str
) -> None:
    """One sentence for a search API's HTTP error, by status."""
    code = response.status_code
    detail = shorten(_error_detail(b"".join(_first_bytes(response, 64 * 1024))).rstrip("."), 200)
    status = f"HTTP {code}: {detail}" if detail else f"HTTP {code}"
    if code in (401, 403):
        raise UserError(f"{title} refused the search ({status}); {config_hint}")
    if code == 429:
        raise UserError(
            f"{title} says there were too many searches ({status}); wait a minute and try again."
        )
    if 400 <= code < 500:
        raise UserError(f"{title} did not accept the search ({status}); {bad_request_hint}")
    raise UserError(f"{title} had a problem answering ({status}); try again in a few minutes.")


def _first_bytes(response: httpx.Response, limit: int) -> Iterator[bytes]:
    """The start of a body, at most limit bytes (an error page needs no more)."""
    size = 0
    for chunk in response.iter_bytes():
        yield chunk[: limit - size]
        size += len(chunk)
        if size >= limit:
            return


def _count(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _web_url(value: Any) -> str | None:
    return value if isinstance(value, str) and url_problem(value) is None else None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def openverse_licence(code: Any, version: Any) -> str | None:
    """Openverse's licence code and version as people write them, e.g. "CC BY-SA 2.0"."""
    code, version = _text(code), _text(version)
    if code is None:
        return None
    suffix = f" {version}" if version else ""
    if code.lower() == "cc0":
        return f"CC0{suffix}"
    if code.lower() == "pdm":
        return f"Public Domain Mark{suffix}"
    return f"CC {code.upper()}{suffix}"


class OpenverseProvider:
    """Openverse's image search: openly licensed images with licence and creator, no key."""

    name = "openverse"

    def __init__(self, base_url: str = "https://api.openverse.org", *, timeout_s: float = 10):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def search(self, query: str, *, page: int = 1, page_size: int = 20) -> SearchPage:
        """One page of Openverse image results for the query."""
        text = _check_query(query, page, page_size, OPENVERSE_MAX_PAGE_SIZE)
        params = urlencode({"q": text, "page": page, "page_size": page_size})
        document = _get_json(
            f"{self.base_url}/v1/images/?{params}",
            title="Openverse",
            timeout_s=self.timeout_s,
            config_hint="check OPENVERSE_URL.",
            bad_request_hint="change the words or go back to page 1.",
        )
        items = document.get("results")
        if not isinstance(items, list):
            raise UserError(
                "Openverse answered without a list of results; try again later, or check "
                "OPENVERSE_URL."
            )
        results = []
        for item in items:
            if not isinstance(item, dict) or not (url := _web_url(item.get("url"))):
                continue
            results.append(
                SearchResult(
                    url=url,
                    thumbnail_url=_web_url(item.get("thumbnail")),
                    title=_text(item.get("title")) or _title_from_url(url),
                    licence=openverse_licence(item.get("license"), item.get("license_version")),
                    creator=_text(item.get("creator")),
                    landing_url=_web_url(item.get("foreign_landing_url")),
                    provider=self.name,
                )
            )
        total = _count(document.get("result_count"))
        page_count = _count(document.get("page_count")) or math.ceil(total / page_size)
        return SearchPage(results=results, page=page, page_count=page_count, total=total)


class GoogleImageProvider:
    """Google Programmable Search (Custom Search JSON API) with searchType=image."""

    name = "google"

    def __init__(
        self,
        api_key: str,
        engine_id: str,
        url: str = "https://www.googleapis.com/customsearch/v1",
        *,
        timeout_s: float = 10,
    ) -> None:
        if not api_key or not engine_id:
            raise ConfigError(
                "Google image search needs both GOOGLE_API_KEY and GOOGLE_CSE_ID; set them or "
                "use Openverse."
            )
        self.api_key, self.engine_id, self.url = api_key, engine_id, url
        self.timeout_s = timeout_s

    def search(self, query: str, *, page: int = 1, page_size: int = 10) -> SearchPage:
        """One page of Google image results (Google serves at most the first 100)."""
        page_size = min(page_size, GOOGLE_MAX_PAGE_SIZE)
        text = _check_query(query, page, page_size, GOOGLE_MAX_PAGE_SIZE)
        last_page = GOOGLE_MAX_RESULTS // page_size
        if page > last_page:
            raise UserError(
                f"Google shows only its first {GOOGLE_MAX_RESULTS} results, so page {page} "
                f"does not exist; pick a page from 1 to {last_page}."
            )
        start = (page - 1) * page_size + 1
        params = {
            "key": self.api_key,
            "cx": self.engine_id,
            "q": text,
            "searchType": "image",
            "start": start,
            "num": page_size,
            "safe": "active",
        }
        document = _get_json(
            f"{self.url}?{urlencode(params)}",
            title="Google",
            timeout_s=self.timeout_s,
            config_hint="check GOOGLE_API_KEY and GOOGLE_CSE_ID (the search engine id).",
            bad_request_hint="check GOOGLE_CSE_ID (the search engine id) or change the words.",
        )
        items = document.get("items", [])
        if not isinstance(items, list):
            raise UserError("Google answered without a list of results; try again later.")
        results = []
        for item in items:
            if not isinstance(item, dict) or not (url := _web_url(item.get("link"))):
                continue
            image = item.get("image") if isinstance(item.get("image"), dict) else {}
            results.append(
                SearchResult(
                    url=url,
                    thumbnail_url=_web_url(image.get("thumbnailLink")),
                    title=_text(item.get("title")) or _title_from_url(url),
                    licence=None,  # Google does not say; the landing page may
                    creator=None,
                    landing_url=_web_url(image.get("contextLink")),
                    provider=self.name,
                )
            )
        information = document.get("searchInformation")
        total = _count(information.get("totalResults") if isinstance(information, dict) else 0)
        page_count = min(math.ceil(total / page_size), last_page)
        return SearchPage(results=results, page=page, page_count=page_count, total=total)


class UrlListProvider:
    """'Paste image URLs': the query is the pasted text, one address per line."""

    name = "urls"

    def search(self, query: str, *, page: int = 1, page_size: int = MAX_PASTED_URLS) -> SearchPage:
        """The pasted addresses as one page; UserError naming the first line that is not one."""
        results, errors = parse_url_list(query)
        if errors:
            raise UserError(errors[0])
        if not results:
            raise UserError("No image address was pasted; paste one http(s) URL per line.")
        return SearchPage(results=results, page=1, page_count=1, total=len(results))


def available_providers(settings: Settings) -> list[str]:
    """The search providers this installation can use, default first."""
    names = ["openverse"]
    if settings.google_api_key and settings.google_cse_id:
        names.append("google")
    names.append("urls")
    return names


def make_provider(settings: Settings, name: str, *, timeout_s: float = 10) -> SearchProvider:
    """The search provider with this name, configured from the settings."""
    if name == "openverse":
        return OpenverseProvider(settings.openverse_url, timeout_s=timeout_s)
    if name == "google":
        return GoogleImageProvider(
            settings.google_api_key or "",
            settings.google_cse_id or "",
            settings.google_search_url,
            timeout_s=timeout_s,
        )
    if name == "urls":
        return UrlListProvider()
    raise unknown_choice(f"Image search {name!r}", available_providers(settings))
