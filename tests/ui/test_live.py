from __future__ import annotations

import asyncio
from collections.abc import Iterator

from skein.fold import SessionSummary
from skein.ui.live import change_event, changes, version_of
from skein.ui.web import UIOptions

FAST = UIOptions(poll_seconds=0.001, stream_seconds=0.2, heartbeat_seconds=0.05)


def versions(*values: str) -> Iterator[str]:
    yield from values
    while True:
        yield values[-1]


async def never() -> bool:
    return False


def collect(probe_values: Iterator[str], since: str | None) -> list[str]:
    async def run() -> list[str]:
        return [chunk async for chunk in changes(lambda: next(probe_values), FAST, since, never)]

    return asyncio.run(run())


def test_a_change_is_sent_once_with_its_version_as_id() -> None:
    chunks = collect(versions("v1", "v1", "v2", "v2"), since=None)
    events = [c for c in chunks if "event: change" in c]
    assert chunks[0].startswith("retry: ")
    assert events == [change_event("v2")]
    assert "id: v2\n" in events[0]


def test_a_change_since_the_page_was_rendered_is_sent_at_once() -> None:
    chunks = collect(versions("v5"), since="v4")
    assert [c for c in chunks if "event: change" in c] == [change_event("v5")]


def test_the_stream_ends_and_keeps_alive_meanwhile() -> None:
    chunks = collect(versions("same"), since="same")
    assert not [c for c in chunks if "event:" in c]
    assert any(c.startswith(": keep-alive") for c in chunks)


def test_a_disconnected_browser_ends_the_stream() -> None:
    async def gone() -> bool:
        return True

    async def run() -> list[str]:
        stream = changes(lambda: "v", UIOptions(poll_seconds=0.001, stream_seconds=60), None, gone)
        return [chunk async for chunk in stream]

    assert len(asyncio.run(run())) == 1  # the retry line only


def test_version_of_a_session() -> None:
    session = SessionSummary("s", trace_count=2, first_ns=1, last_ns=5, observation_count=7)
    assert version_of(session) == "2.7.5" and version_of(None) == "none"
