"""Fixtures for the browser tests: a real `skein serve` (the e2e tier's helpers), Debian's
headless Chromium driven by Playwright, and a place for screenshots.

Chromium is `/usr/bin/chromium` (`bash scripts/test` installs Debian's package; Playwright's
own browser download is never used). Without it the browser tests skip, or fail under
SKEIN_TEST_FULL=1.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from skein.store.base import Store
from tests.e2e.conftest import (
    Server,
    clean_environment,
    free_port,
    require,
    server_environment,
    stop,
    tail,
    wait_until_healthy,
)
from tests.ui.factories import client_for, opened_store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).parent / "artifacts"


@contextmanager
def serve(data_dir: Path, **env: str) -> Iterator[Server]:
    """`skein serve` on a free loopback port, with extra SKEIN_* settings in `env`."""
    port = free_port()
    server = Server(f"http://127.0.0.1:{port}", data_dir, data_dir / "server.log")
    command = [sys.executable, "-m", "skein", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env={**server_environment(data_dir), **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_healthy(process, server)
            yield server
        finally:
            stop(process)
    assert "Traceback" not in server.log_path.read_text(errors="replace"), tail(server.log_path)


def run_demo(server: Server, *args: str) -> str:
    """`skein demo` against the server, shortened; returns what it printed."""
    environment = clean_environment(
        {
            "SKEIN_BASE_URL": server.base_url,
            "SKEIN_PUBLIC_KEY": server.public_key,
            "SKEIN_SECRET_KEY": server.secret_key,
        }
    )
    finished = subprocess.run(
        [sys.executable, "-m", "skein", "demo", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr + tail(server.log_path)
    return finished.stdout


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium, one per test module: Playwright's sync API keeps an event loop
    running in this thread until it stops, which other modules' asyncio tests cannot share."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is not installed")
        raise
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser tab (its own cookies) at a desktop size; fails on script errors."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], f"script errors in the page: {errors}"


def screenshot(tab: Any, name: str, *, full_page: bool = False) -> Path:
    """Save what the tab shows under tests/ui/artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    return path


# In-process page tests: a fresh SQLite store and a TestClient on it.


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with opened_store(tmp_path) as opened:
        yield opened


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with client_for(store, tmp_path) as made:
        yield made
