"""Web image search behind one interface: Openverse, Google Programmable Search, pasted URLs.

Also the one safe way to download an image from the web: HTTP(S) only, a timeout, a size cap,
and at most five redirects, each to http or https (DESIGN §6b).
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlencode, urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, OpenerDirector, Request, build_opener

from core.config import Settings
from core.errors import ConfigError, UserError

USER_AGENT = "CatIdentifier/0.1 (self-hosted training-set import)"
MAX_REDIRECTS = 5
MAX_JSON_BYTES = 5 * 1024 * 1024
MAX_QUERY_CHARS = 200
MAX_URL_CHARS = 2048
MAX_PASTED_URLS = 200
WEB_SCHEMES = ("http", "https")
OPENVERSE_MAX_PAGE_SIZE = 20  # anonymous requests may not ask for more
GOOGLE_MAX_PAGE_SIZE = 10
GOOGLE_MAX_RESULTS = 100  # the Custom Search JSON API never returns results past the 100th
PROVIDER_TITLES = {"openverse": "Openverse", "google": "Google", "urls": "Pasted URLs"}
_CHUNK_BYTES = 64 * 1024


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


# --- HTTP ---------------------------------------------------------------------------------


class _SafeRedirects(HTTPRedirectHandler):
    """Follow at most MAX_REDIRECTS redirects, and only to http or https addresses."""

    def __init__(self, original_url: str) -> None:
        self.original_url = original_url

    def http_error_302(self, req, fp, code, msg, headers):  # noqa: ANN001 - urllib's signature
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urljoin(req.full_url, location)
            if urlsplit(target).scheme.lower() not in WEB_SCHEMES:
                fp.close()
                raise UserError(
                    f"{self.original_url!r} redirects to {_shorten(target)!r}, which is not a web "
                    "address; only http and https images are downloaded."
                )
        if len(getattr(req, "redirect_dict", {})) >= MAX_REDIRECTS:
            fp.close()
            raise UserError(
                f"{self.original_url!r} redirects more than {MAX_REDIRECTS} times; "
                "open it in a browser and paste the final image address."
            )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener(url: str) -> OpenerDirector:
    return build_opener(_SafeRedirects(url))


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _connection_problem(err: BaseException) -> str:
    """What went wrong with a connection, in a few words, for a message."""
    reason = err.reason if isinstance(err, URLError) else err
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, socket.gaierror):
        return "the host name was not found"
    if isinstance(reason, ssl.SSLError):
        return "the secure connection failed"
    if isinstance(reason, ConnectionResetError | http.client.RemoteDisconnected):
        return "the connection was closed by the server"
    return str(reason).rstrip(".") or type(reason).__name__


def _read_capped(stream: BinaryIO, max_bytes: int, deadline: float) -> bytes | None:
    """Read at most max_bytes; None if the stream has more; TimeoutError past the deadline."""
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = stream.read(min(_CHUNK_BYTES, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return None


# --- downloads ----------------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why a text is not a downloadable web address (a phrase), or None if it is one."""
    if len(url) > MAX_URL_CHARS:
        return f"is longer than {MAX_URL_CHARS} characters"
    if any(c.isspace() for c in url):
        return "contains spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a valid web address"
    if parts.scheme.lower() not in WEB_SCHEMES:
        return "is not an http:// or https:// address"
    if not parts.hostname:
        return "has no host name"
    return None


def download_image(url: str, *, timeout_s: float = 10, max_bytes: int) -> bytes:
    """The bytes at an http(s) URL, within a time and size limit; UserError saying what failed."""
    if problem := url_problem(url):
        raise UserError(f"{_shorten(url)!r} {problem}; give the http:// or https:// image address.")
    shown = _shorten(url)
    limit = f"{max_bytes / 1024 / 1024:.3g} MB"
    deadline = time.monotonic() + timeout_s
    request = Request(url, headers={"User-Agent": USER_AGENT, "Accept": "image/*,*/*;q=0.5"})
    try:
        with _opener(url).open(request, timeout=timeout_s) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.strip().isdigit() and int(declared) > max_bytes:
                raise UserError(
                    f"Image {shown!r} is {int(declared) / 1024 / 1024:.3g} MB, over the {limit} "
                    "limit; pick a smaller image."
                )
            data = _read_capped(response, max_bytes, deadline)
    except HTTPError as err:
        err.close()
        raise UserError(
            f"{shown!r} answered HTTP {err.code} ({err.reason}); the image may have moved or be "
            "private, so pick another."
        ) from None
    except (URLError, OSError, http.client.HTTPException) as err:
        problem = _connection_problem(err)
        if problem == "timeout":
            raise UserError(
                f"{shown!r} did not arrive within {timeout_s:g} s; try again later or pick "
                "another image."
            ) from None
        raise UserError(
            f"Could not download {shown!r} from {_host(url)!r} ({problem}); check the address "
            "or try again later."
        ) from None
    if data is None:
        raise UserError(f"Image {shown!r} is over the {limit} limit; pick a smaller image.")
    if not data:
        raise UserError(f"{shown!r} sent no data (0 bytes); pick another image.")
    return data


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
                f"Line {number} ({_shorten(line, 80)!r}) {problem}; paste one http:// or "
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
    """GET a JSON document from a search API; UserError (one sentence) for every failure."""
    request = Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with _opener(url).open(request, timeout=timeout_s) as response:
            deadline = time.monotonic() + timeout_s
            body = _read_capped(response, MAX_JSON_BYTES, deadline)
    except HTTPError as err:
        detail = _shorten(_error_detail(err.read(64 * 1024)).rstrip("."), 200)
        err.close()
        status = f"HTTP {err.code}: {detail}" if detail else f"HTTP {err.code}"
        if err.code in (401, 403):
            raise UserError(f"{title} refused the search ({status}); {config_hint}") from None
        if err.code == 429:
            raise UserError(
                f"{title} says there were too many searches ({status}); wait a minute and "
                "try again."
            ) from None
        if 400 <= err.code < 500:
            raise UserError(
                f"{title} did not accept the search ({status}); {bad_request_hint}"
            ) from None
        raise UserError(
            f"{title} had a problem answering ({status}); try again in a few minutes."
        ) from None
    except (URLError, OSError, http.client.HTTPException) as err:
        problem = _connection_problem(err)
        if problem == "timeout":
            raise UserError(
                f"{title} did not answer within {timeout_s:g} s; try again in a minute."
            ) from None
        raise UserError(
            f"Could not reach {title} at {_host(url)!r} ({problem}); check the internet "
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
    known = ", ".join(available_providers(settings))
    raise UserError(f"Image search {name!r} is not known; use one of: {known}.")
