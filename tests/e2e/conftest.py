"""Browser tests: `streamlit run` servers on free ports and a headless Debian Chromium.

`streamlit_server(script, env)` starts one server per (script, env) for the session and stops
them all at the end; `browser_page` is a fresh 1280×900 page. Without /usr/bin/chromium the
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

import pytest
from playwright.sync_api import Locator, Page, expect

from core.config import free_port

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
WAIT_MS = 20_000  # a loaded 2-core machine runs a Streamlit script in seconds, not milliseconds
expect.set_options(timeout=WAIT_MS)


def docs_screenshot(name: str) -> Path:
    """Where a README picture goes: docs/ when REFRESH_DOCS_SCREENSHOTS=1, else test-artifacts/."""
    folder = REPO_ROOT / "docs" if os.environ.get(REFRESH_DOCS) == "1" else ARTIFACTS
    folder.mkdir(exist_ok=True)
    return folder / name


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


def wait_until_idle(page: Page, *, timeout_ms: int = WAIT_MS) -> None:
    """Wait until the app's script run is over: no running indicator and no stale element."""
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=timeout_ms)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=timeout_ms)


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


@pytest.fixture
def browser_page(chromium) -> Iterator[object]:
    """A fresh page (own cookies) at 1280×900; screenshots go to test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()
