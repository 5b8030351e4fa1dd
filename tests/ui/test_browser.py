"""The web UI in a real browser (Debian's headless Chromium through Playwright) against the
real `skein serve`, filled by `skein demo`: the sessions list, a replay stepped through and
played, a waterfall expanded, a live update arriving, the login. Each page is saved as a
screenshot under tests/ui/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import skein
from tests.e2e.conftest import Server
from tests.ui.conftest import run_demo, screenshot, serve

pytestmark = pytest.mark.e2e

NARROW = {"width": 420, "height": 860}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """A server filled by `skein demo`, and its sessions by kind (travel, tutor, ...)."""
    with serve(tmp_path_factory.mktemp("ui-demo")) as server:
        printed = run_demo(server, "--speed", "50")
        ids = re.findall(r"/sessions/(demo-[a-z]+-[0-9a-f]+)", printed)
        assert len(ids) == 8, printed
        yield server, {session_id.split("-")[1]: session_id for session_id in ids}


def test_sessions_list(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, sessions = demo
    page.goto(server.base_url + "/")
    assert page.url.endswith("/sessions")
    rows = page.locator("table.sessions-table tbody tr")
    assert rows.count() == 8
    assert page.locator(f"a.session-id:text('{sessions['tutor']}')").count() == 1
    assert page.locator("[data-live-status]").is_visible()  # the live stream connected
    screenshot(page, "sessions")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sessions/demo-"))
    page.set_viewport_size(NARROW)
    page.goto(server.base_url + "/sessions")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"] + 1
    screenshot(page, "sessions-narrow")


def test_replay_steps_and_plays(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, sessions = demo
    page.goto(f"{server.base_url}/sessions/{sessions['travel']}")
    assert page.locator("article.turn").count() == 3
    assert page.locator("text=earlier messages repeated from previous turns").count() == 2
    playback = page.locator("[data-playback]")
    assert playback.is_visible()  # shown by the script
    screenshot(page, "session", full_page=True)
    playback.locator("[data-step='1']").click()
    assert page.locator("article.turn.current").get_attribute("data-turn") == "1"
    page.keyboard.press("j")
    assert page.locator("article.turn.current").get_attribute("data-turn") == "2"
    page.keyboard.press("k")
    assert page.locator("article.turn.current").get_attribute("data-turn") == "1"
    playback.locator("[data-speed]").select_option("16")
    playback.locator("[data-play]").click()
    page.wait_for_selector("article.turn.future", state="attached")  # later turns hidden
    page.wait_for_function(
        "document.querySelector('article.turn.current')?.dataset.turn === '3'", timeout=20_000
    )
    screenshot(page, "session-playing")
    page.wait_for_function("!document.querySelector('article.turn.future')", timeout=20_000)
    assert "Turn 3 of 3" in page.locator("[data-position]").inner_text()


def test_playback_continues_across_pages(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, sessions = demo
    page.goto(f"{server.base_url}/sessions/{sessions['tutor']}#turn-49")  # near the page's end
    assert page.locator("article.turn").count() == 50
    assert "Page 1 of 2" in page.locator(".pager").first.inner_text()
    assert page.locator("article.turn.current").get_attribute("data-turn") == "49"
    page.locator("[data-speed]").select_option("16")
    page.locator("[data-play]").click()
    page.wait_for_url(re.compile(r"page=2"), timeout=30_000)
    page.wait_for_selector("article.turn.current#turn-51", timeout=15_000)


def test_waterfall_expands_and_trace_view(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, sessions = demo
    page.goto(f"{server.base_url}/sessions/{sessions['travel']}")
    first = page.locator("article.turn").first
    first.locator("details.turn-waterfall summary").click()
    rows = first.locator(".waterfall .wf-row")
    rows.first.wait_for()
    assert rows.count() == 4  # turn, two generations, the tool
    assert first.locator(".wf-bar").count() == 4
    screenshot(page, "session-waterfall")
    first.locator("a.turn-name").click()
    page.wait_for_url(re.compile(r"/traces/[0-9a-f]{32}"))
    tool_row = page.locator(".trace-tree .wf-row.type-tool")
    tool_row.click()
    page.wait_for_selector(".observation-detail h2:has-text('get_weather')")
    assert "observation=" in page.url
    screenshot(page, "trace", full_page=True)


def test_other_pages(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, sessions = demo
    for name, path, expected in (
        ("traces", "/traces", "Traces"),
        ("diagnostics", "/diagnostics", "SessionID"),
        ("settings", "/settings", "Model prices"),
        ("not-found", "/sessions/no-such-session", "Session not found"),
    ):
        page.goto(server.base_url + path)
        assert expected in page.content()
        screenshot(page, name, full_page=True)
    page.set_viewport_size(NARROW)
    page.goto(f"{server.base_url}/sessions/{sessions['code']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"] + 1
    screenshot(page, "session-narrow")


def test_a_live_update_arrives(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, sessions = demo
    session_id = sessions["translate"]
    page.goto(f"{server.base_url}/sessions/{session_id}")
    before = page.locator("article.turn").count()
    page.wait_for_selector("[data-live-status]:not(.stale)", state="visible")
    send_turn(server, session_id, "Translate: a live update")
    page.wait_for_selector(f"#turn-{before + 1}", timeout=20_000)
    assert "Translate: a live update" in page.locator(f"#turn-{before + 1}").inner_text()
    screenshot(page, "session-live")


def send_turn(server: Server, session_id: str, question: str) -> None:
    client = skein.Skein(
        base_url=server.base_url, public_key=server.public_key, secret_key=server.secret_key
    )
    try:
        with skein.session(session_id, user_id="live-tester"):
            with client.start_as_current_span(name="translate", input=question) as span:
                span.update(output="Une mise à jour en direct")
        client.flush()
    finally:
        client.shutdown()


def test_rename_a_session_and_undo_it(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, sessions = demo
    session_id = sessions["support"]
    confirmations: list[str] = []
    page.on("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    page.goto(f"{server.base_url}/sessions/{session_id}")
    page.locator("article.turn").nth(1).locator(".turn-split summary").click()
    assert page.locator("article.turn").nth(1).locator("input[name=new_session_id]").is_visible()
    screenshot(page, "repair-split")
    page.locator("details.menu > summary").click()  # closes the split form, opens the menu
    assert not page.locator("article.turn").nth(1).locator(".turn-split form").is_visible()
    page.locator("article.turn").first.locator("[data-move-select]").check()
    assert "1 selected turn" in page.locator("[data-move-count]").inner_text()
    screenshot(page, "repair-menu")
    page.fill("input[name=new_session_id] >> nth=0", session_id + "-renamed")
    page.locator("form[action$='/rename'] button").click()
    page.wait_for_url(re.compile(re.escape(session_id + "-renamed") + "$"))
    assert "Rename this session?" in confirmations[0]
    assert page.locator("h1").inner_text() == session_id + "-renamed"
    entry = page.locator("#history .history-entry").first
    assert f"Renamed {session_id} → {session_id}-renamed" in entry.inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "repair-renamed", full_page=True)
    entry.locator("button:has-text('Undo')").click()
    page.wait_for_url(re.compile(re.escape(session_id) + "$"))
    assert page.locator("h1").inner_text() == session_id
    assert "undone" in page.locator("#history").inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "repair-undone", full_page=True)


def test_backfill_dry_run_apply_and_undo(demo: tuple[Server, dict[str, str]], page: Any) -> None:
    server, _ = demo
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(server.base_url + "/diagnostics")
    page.fill("#repair input[name=key]", "SessionID")
    page.locator("#repair form:has(input[name=key]) button").click()
    page.wait_for_selector(".dry-run")
    assert "batch-42" in page.locator(".dry-run").inner_text()
    show_section(page, "#repair")
    screenshot(page, "repair-dry-run")
    page.locator(".dry-run button:has-text('Apply to 1 trace')").click()
    page.wait_for_selector(".alert.applied")
    assert "Backfill by key SessionID · 1 trace changed" in page.locator(".alert").inner_text()
    show_section(page, "#repair")
    screenshot(page, "repair-applied")
    page.locator(".alert.applied button:has-text('Undo')").click()
    page.wait_for_selector(".alert.applied:has-text('Undid')")
    assert "undone" in page.locator("#repair-history").inner_text()
    page.goto(server.base_url + "/sessions/batch-42")
    assert "Session not found" in page.content()


def show_section(page: Any, selector: str) -> None:
    """Scroll a section to the top of the window, below the sticky bar."""
    page.evaluate(
        "(s) => window.scrollTo(0, document.querySelector(s).getBoundingClientRect().top"
        " + window.scrollY - 68)",
        selector,
    )


@pytest.mark.parametrize("required", [True, False])
def test_login_when_required(tmp_path: Path, page: Any, required: bool) -> None:
    settings = {"SKEIN_UI_LOGIN": "required"} if required else {}
    with serve(tmp_path, **settings) as server:
        page.goto(server.base_url + "/sessions")
        if not required:
            assert page.url.endswith("/sessions") and page.locator("h1").inner_text() == "Sessions"
            return
        assert "/login" in page.url
        screenshot(page, "login")
        page.fill("input[name=public_key]", server.public_key)
        page.fill("input[name=secret_key]", "wrong")
        page.click("button[type=submit]")
        assert "not valid" in page.locator(".alert").inner_text()
        page.fill("input[name=public_key]", server.public_key)
        page.fill("input[name=secret_key]", server.secret_key)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/sessions$"))
        assert page.locator("text=Log out").is_visible()
