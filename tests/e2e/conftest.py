"""Browser tests: `streamlit run` servers on free ports and a headless Debian Chromium.

`streamlit_server(script, env)` starts one server per (script, env) for the session and stops
them all at the end; `fixed_model_breeder(name)` and `console_server(name, prepare, **env)` serve
the breeder page or the console on a database of their own; `browser_page` is a fresh 1280×900
page. Without /usr/bin/chromium the
browser tests are skipped on a workstation and fail on CI (env CI set).

Tests wait for conditions with Playwright's `expect` (`shows`, `wait_until_idle`), never for a
fixed time. Screenshots go to test-artifacts/; the README's pictures in docs/ are rewritten only
when REFRESH_DOCS_SCREENSHOTS=1 is set (`docs_screenshot`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from playwright.sync_api import Locator, Page, expect
from pymongo import MongoClient
from pymongo.database import Database

from admin_app.auth import COOKIE_NAME
from core.config import free_port
from core.db.indexes import ensure_all
from tests.breeder_helpers import BREEDER_APP, add_fixed_model, showcase_outputs
from tests.console_helpers import CONSOLE_APP, PASSWORD

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
START_TIMEOUT_S = 60
REFRESH_DOCS = "REFRESH_DOCS_SCREENSHOTS"
WAIT_MS = 60_000  # an upper bound: a loaded 2-core machine can take many seconds per script run
expect.set_options(timeout=WAIT_MS)


def docs_screenshot(name: str) -> Path:
    """Where a README picture goes: docs/ when REFRESH_DOCS_SCREENSHOTS=1, else test-artifacts/."""
    folder = REPO_ROOT / "docs" if os.environ.get(REFRESH_DOCS) == "1" else ARTIFACTS
    folder.mkdir(exist_ok=True)
    return folder / name


def fresh(page: Page) -> Locator:
    """The app's elements drawn by the latest script run, to click: while Streamlit reruns, an
    element's copy from the run before can stay on screen for a moment (data-stale="true")."""
    return page.locator("[data-testid='stElementContainer'][data-stale='false']")


def shows(
    scope: Page | Locator, text: str | re.Pattern[str], *, timeout_ms: int = WAIT_MS
) -> Locator:
    """Wait until exactly one visible element shows `text` and return it.

    While Streamlit reruns, an element from the previous run can stay on screen beside its new
    copy for a moment; counting to one waits for that stale copy to detach.
    """
    locator = scope.get_by_text(text)
    expect(locator).to_have_count(1, timeout=timeout_ms)
    expect(locator).to_be_visible(timeout=timeout_ms)
    return locator


# Counts finished script runs and component values in the app's window, so that a test can tell
# a rerun asked for by a component (the sign-in cookie's, a moment after signing in) from an app
# at rest; keeps the values too. Streamlit marks its root with data-test-script-state.
RUN_COUNTER_JS = """
(() => {
  if (window.top !== window) return;
  const runs = { finished: 0, values: 0, finishedAtLastValue: 0, lastValueAt: 0, sent: [] };
  window.__streamlitRuns = runs;
  window.addEventListener("message", event => {
    if (event.data && event.data.type === "streamlit:setComponentValue") {
      runs.values += 1;
      runs.sent.push(event.data.value);
      runs.finishedAtLastValue = runs.finished;
      runs.lastValueAt = performance.now();
    }
  });
  const attribute = "data-test-script-state";
  new MutationObserver(changes => {
    for (const change of changes) {
      if (change.target.getAttribute(attribute) === "notRunning") runs.finished += 1;
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: [attribute]});
})();
"""
COOKIE_READ_BACK_JS = """
name => window.__streamlitRuns.sent.some(v => v !== null && typeof v === "object" && name in v)
"""
# Streamlit may fold a component value into a rerun that had already finished (or not rerun for
# an unchanged value): at rest this long after the last value, no rerun is coming for it
COALESCED_MS = 10_000
IDLE_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const runs = window.__streamlitRuns;
  return app !== null && app.getAttribute("data-test-script-state") === "notRunning"
    && (runs.values === 0 || runs.finished > runs.finishedAtLastValue
        || performance.now() - runs.lastValueAt > COALESCED_MS)
    && document.querySelectorAll('[data-stale="true"]').length === 0;
}
""".replace("COALESCED_MS", str(COALESCED_MS))


def wait_until_idle(page: Page, *, timeout_ms: int = WAIT_MS) -> None:
    """Wait until the app is at rest: its script is not running, no component value still waits
    for its rerun, and no stale element from an earlier run is left on screen."""
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def next_frames(page: Page) -> None:
    """Wait until the browser has laid out and painted twice (after a viewport change)."""
    page.evaluate(
        "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


@dataclass(frozen=True)
class StreamlitServer:
    url: str
    log_path: Path
    process: subprocess.Popen


def _wait_healthy(server: StreamlitServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    log = server.log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"streamlit at {server.url} did not become healthy; its log ends:\n{log}")


@pytest.fixture(scope="session")
def streamlit_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., StreamlitServer]]:
    """A function (script, env, port=None) -> a running server, started once per arguments."""
    started: dict[tuple, StreamlitServer] = {}
    log_dir = tmp_path_factory.mktemp("streamlit-logs")

    def start(
        script: str | Path, env: Mapping[str, str], port: int | None = None
    ) -> StreamlitServer:
        key = (str(script), tuple(sorted(env.items())), port)
        if key in started:
            return started[key]
        chosen = port or free_port()
        log_path = log_dir / f"{Path(script).stem}-{chosen}.log"
        command = [
            sys.executable, "-m", "streamlit", "run", str(script),
            "--server.port", str(chosen), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]  # fmt: skip
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = StreamlitServer(f"http://127.0.0.1:{chosen}", log_path, process)
        started[key] = server
        _wait_healthy(server, START_TIMEOUT_S)
        return server

    yield start
    for server in started.values():
        server.process.terminate()
    for server in started.values():
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def sign_in(page: Page, url: str) -> None:
    """Sign ann in through the console's form and wait for its first page."""
    page.goto(url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    wait_until_idle(page)
    page.get_by_role("textbox", name="Username").fill("ann")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Training images")).to_have_count(1)
    # The cookie component writes the cookie, then reads the cookies back: each value it sends
    # reruns the app, and a click during such a rerun is lost. Wait until it has read ours.
    page.wait_for_function(COOKIE_READ_BACK_JS, arg=COOKIE_NAME)
    wait_until_idle(page)


Serve = Callable[..., tuple[str, Database]]


@pytest.fixture(scope="session")
def serve_on_new_database(
    mongo_uri: str, tmp_path_factory: pytest.TempPathFactory, streamlit_server
) -> Iterator[Serve]:
    """A function (script, name, prepare, **env) -> (url, database): an app server on a database
    of its own, filled by `prepare` before the server starts; the databases go at the end."""
    with MongoClient(mongo_uri, tz_aware=True) as client:
        db_names: list[str] = []

        def serve(
            script: Path, name: str, prepare: Callable[[Database], object], **env: str
        ) -> tuple[str, Database]:
            db_names.append(f"test_{name}_{uuid4().hex[:8]}")
            database = client[db_names[-1]]
            ensure_all(database)
            prepare(database)
            data_dir = str(tmp_path_factory.mktemp(f"{name}-data"))
            env = {"MONGO_URI": mongo_uri, "MONGO_DB": db_names[-1], "DATA_DIR": data_dir, **env}
            return streamlit_server(script, env).url, database

        yield serve
        for db_name in db_names:
            client.drop_database(db_name)


@pytest.fixture(scope="session")
def fixed_model_breeder(serve_on_new_database: Serve) -> Callable[[str], tuple[str, Database]]:
    """A function (name) -> (url, database): a breeder page server on a database of its own,
    holding a model that always sees the showcase blue tabby bicolour.

    The model is a real Keras model whose heads give fixed outputs (a 2-epoch model would name
    the cat wrongly in the README's screenshots); the browser flow is the same either way.
    """

    def start(name: str) -> tuple[str, Database]:
        return serve_on_new_database(
            BREEDER_APP,
            name,
            lambda database: add_fixed_model(database, showcase_outputs()),
            LABEL_SCHEMA="cat_phenotype",
            SHOW_RECENT_GALLERY="false",
        )

    return start


@pytest.fixture(scope="session")
def console_server(serve_on_new_database: Serve, postgres_url: str) -> Serve:
    """A function (name, prepare, **env) -> (url, database): a console server on the session's
    PostgreSQL and a database of its own, filled by `prepare` before the server starts."""

    def start(name: str, prepare: Callable[[Database], object], **env: str) -> tuple[str, Database]:
        return serve_on_new_database(CONSOLE_APP, name, prepare, DATABASE_URL=postgres_url, **env)

    return start


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI; install it with apt-get install chromium.")
        pytest.skip(f"{CHROMIUM} is missing; install it with apt-get install chromium.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test item, for `browser_page` to see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser_page(chromium, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page (own cookies) at 1280×900; screenshots go to test-artifacts/, and a failed
    test leaves one of the page as it was (test-artifacts/<test>-failed.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RUN_COUNTER_JS)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        save_failure(page, ARTIFACTS / f"{request.node.name}-failed")
    context.close()


def save_failure(page: Page, path: Path) -> None:
    """Save what the page showed when a test failed: a screenshot and its accessibility tree."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        path.with_suffix(".txt").write_text(page.locator("body").aria_snapshot(timeout=20_000))
        page.screenshot(path=str(path.with_suffix(".png")), timeout=20_000)
    except PlaywrightError as err:  # a page that hangs must not hide the test's own failure
        path.with_suffix(".txt").write_text(f"no picture of the page: {err}")
