"""`skein export`: where it connects, what it asks for, how it counts and shows progress.

The download itself runs against a real server in tests/e2e/test_read_api.py."""

from __future__ import annotations

import io

import pytest

from skein.cli import build_parser
from skein.cli_export import (
    DEFAULT_BASE_URL,
    ExportFailed,
    RowCounter,
    export_url,
    filter_items,
    progress_line,
    resolve_target,
)

KEYS = {"SKEIN_PUBLIC_KEY": "pk-s", "SKEIN_SECRET_KEY": "sk-s"}


def test_skein_keys_and_url_win_over_langfuse_ones() -> None:
    environ = {
        **KEYS,
        "LANGFUSE_PUBLIC_KEY": "pk-l",
        "LANGFUSE_SECRET_KEY": "sk-l",
        "SKEIN_BASE_URL": "http://127.0.0.1:9/",
        "LANGFUSE_HOST": "http://elsewhere",
    }

    target = resolve_target(None, environ)

    assert (target.base_url, target.public_key, target.secret_key) == (
        "http://127.0.0.1:9",
        "pk-s",
        "sk-s",
    )
    assert resolve_target("http://flag:1", environ).base_url == "http://flag:1"


def test_langfuse_settings_are_used_when_skein_ones_are_absent() -> None:
    environ = {"LANGFUSE_PUBLIC_KEY": "pk-l", "LANGFUSE_SECRET_KEY": "sk-l"}

    target = resolve_target(None, environ)

    assert (target.base_url, target.public_key) == (DEFAULT_BASE_URL, "pk-l")
    assert target.authorization() == "Basic cGstbDpzay1s"


def test_no_keys_is_an_error() -> None:
    with pytest.raises(ExportFailed, match="SKEIN_PUBLIC_KEY"):
        resolve_target(None, {"SKEIN_PUBLIC_KEY": "only-half"})


def test_flags_become_query_parameters() -> None:
    args = build_parser().parse_args(
        ["export", "traces", "--format", "csv", "--tags", "a", "--tags", "b",
         "--session-id", "s1", "--from", "2024-01-01T00:00:00Z", "-o", "out.csv"]
    )  # fmt: skip

    items = filter_items(args)

    assert sorted(items) == sorted(
        [
            ("tags", "a"),
            ("tags", "b"),
            ("sessionId", "s1"),
            ("fromTimestamp", "2024-01-01T00:00:00Z"),
        ]
    )
    url = export_url("http://h", args.what, args.format, items)
    assert url.startswith("http://h/api/public/export/traces?format=csv&")
    assert "fromTimestamp=2024-01-01T00%3A00%3A00Z" in url


@pytest.mark.parametrize(
    ("form", "body", "rows"),
    [
        ("jsonl", b'{"a":1}\n{"a":2}\n', 2),
        ("json", b'[\n{"a":1},\n{"a":2}\n]\n', 2),
        ("json", b"[\n]\n", 0),
        ("csv", b"h1,h2\n1,2\n3,4\n5,6\n", 3),
    ],
)
def test_rows_are_counted_across_chunks(form: str, body: bytes, rows: int) -> None:
    counter = RowCounter("traces", 10, form, None)

    for start in range(0, len(body), 3):
        counter.add(body[start : start + 3])

    assert counter.finish() == rows


def test_progress_is_drawn_on_the_given_stream() -> None:
    stream = io.StringIO()
    counter = RowCounter("sessions", 4, "jsonl", stream)

    counter.add(b"{}\n{}\n")
    counter.finish()

    assert stream.getvalue().startswith("\rexported 2 / 4 sessions (50%)")
    assert stream.getvalue().endswith("\n")


def test_progress_line() -> None:
    assert progress_line(1200, 10000, "sessions") == "exported 1,200 / 10,000 sessions (12%)"
    assert progress_line(5, 0, "traces") == "exported 5 traces"
