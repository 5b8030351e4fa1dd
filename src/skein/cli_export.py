"""`skein export sessions|traces`: download an export from a running server over HTTP.

    skein export sessions --format csv --output sessions.csv --min-traces 2
    skein export traces --format jsonl --session-id chat-42 -o -

The server and keys come from `--base-url`, then SKEIN_BASE_URL, LANGFUSE_BASE_URL or
LANGFUSE_HOST (default http://127.0.0.1:3000), and SKEIN_PUBLIC_KEY/SKEIN_SECRET_KEY or
LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY. The body is copied as it streams in; on a terminal a
progress line on stderr counts the rows.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from skein.settings import Settings

DEFAULT_BASE_URL = "http://127.0.0.1:3000"
BASE_URL_VARIABLES = ("SKEIN_BASE_URL", "LANGFUSE_BASE_URL", "LANGFUSE_HOST")
KEY_VARIABLES = (
    ("SKEIN_PUBLIC_KEY", "SKEIN_SECRET_KEY"),
    ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"),
)
FORMATS = ("jsonl", "json", "csv")
CHUNK_BYTES = 64 * 1024
TIMEOUT_SECONDS = 60.0
PROGRESS_INTERVAL_SECONDS = 0.2
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Command-line flag → query parameter.
FILTER_FLAGS = {
    "user_id": "userId",
    "session_id": "sessionId",
    "tag": "tag",
    "tags": "tags",
    "environment": "environment",
    "from_time": "fromTimestamp",
    "to_time": "toTimestamp",
    "min_traces": "minTraces",
    "has_errors": "hasErrors",
    "order_by": "orderBy",
}


class ExportFailed(Exception):
    """The server could not be reached or refused the export."""


@dataclass(frozen=True, slots=True)
class Target:
    base_url: str
    public_key: str
    secret_key: str

    def authorization(self) -> str:
        token = f"{self.public_key}:{self.secret_key}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")


def add_export_command(commands: Any) -> None:
    """Add `export` to the `skein` subcommands (`commands` is argparse's subparsers)."""
    export: argparse.ArgumentParser = commands.add_parser(
        "export", help="export sessions or traces from a running server (JSON, JSONL, CSV)"
    )
    export.add_argument("what", choices=("sessions", "traces"))
    export.add_argument("--format", choices=FORMATS, default="jsonl", help="default jsonl")
    export.add_argument("--output", "-o", default="-", help="file to write (default stdout)")
    export.add_argument("--base-url", help=f"server URL (default {DEFAULT_BASE_URL})")
    export.add_argument("--user-id", help="only this user's sessions or traces")
    export.add_argument("--session-id", help="traces: only this session's")
    export.add_argument("--tag", help="sessions: only those with a trace carrying this tag")
    export.add_argument("--tags", action="append", help="traces: must carry all (repeatable)")
    export.add_argument("--environment", action="append", help="any of these (repeatable)")
    export.add_argument("--from", dest="from_time", help="ISO 8601 start of the time range")
    export.add_argument("--to", dest="to_time", help="ISO 8601 end of the time range")
    export.add_argument("--min-traces", help="sessions: at least this many traces")
    export.add_argument("--has-errors", choices=("true", "false"), help="with or without errors")
    export.add_argument("--order-by", help="e.g. lastActivity.desc, totalCost.desc")
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    try:
        target = resolve_target(args.base_url, os.environ)
        url = export_url(target.base_url, args.what, args.format, filter_items(args))
        with output(args.output) as sink:
            rows = download(url, target, sink, args.what, progress_stream())
    except ExportFailed as error:
        print(f"skein: export failed: {error}", file=sys.stderr)
        return 1
    if args.output != "-":
        print(f"exported {rows} {args.what} to {args.output}", file=sys.stderr)
    return 0


def resolve_target(base_url: str | None, environ: Mapping[str, str]) -> Target:
    """The server and key pair to use, from the flag and the environment."""
    found = base_url or next((environ[v] for v in BASE_URL_VARIABLES if environ.get(v)), None)
    for public_name, secret_name in KEY_VARIABLES:
        if environ.get(public_name) and environ.get(secret_name):
            url = (found or DEFAULT_BASE_URL).rstrip("/")
            return Target(url, environ[public_name], environ[secret_name])
    raise ExportFailed("no API keys: set SKEIN_PUBLIC_KEY and SKEIN_SECRET_KEY")


def filter_items(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The query parameters of the filter flags that were given."""
    items: list[tuple[str, str]] = []
    for flag, parameter in FILTER_FLAGS.items():
        value = getattr(args, flag, None)
        values = value if isinstance(value, list) else [value]
        items.extend((parameter, str(v)) for v in values if v is not None)
    return items


def export_url(base_url: str, what: str, form: str, items: Sequence[tuple[str, str]]) -> str:
    query = urllib.parse.urlencode([("format", form), *items])
    return f"{base_url}/api/public/export/{what}?{query}"


@contextlib.contextmanager
def output(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with open(path, "wb") as sink:
        yield sink


def progress_stream() -> IO[str] | None:
    """Where to draw progress: stderr when it is a terminal, else nowhere."""
    return sys.stderr if sys.stderr.isatty() else None


def download(url: str, target: Target, sink: IO[bytes], what: str, progress: IO[str] | None) -> int:
    """Copy the export at `url` into `sink`; the number of rows (lines of data) it held."""
    request = urllib.request.Request(url, headers={"Authorization": target.authorization()})
    try:
        with _opener(url).open(request, timeout=TIMEOUT_SECONDS) as response:
            total = int(response.headers.get("X-Total-Count") or 0)
            counter = RowCounter(what, total, url_format(url), progress)
            while chunk := response.read(CHUNK_BYTES):
                sink.write(chunk)
                counter.add(chunk)
            return counter.finish()
    except urllib.error.HTTPError as error:
        raise ExportFailed(f"{error.code} {_error_message(error)}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ExportFailed(f"cannot reach {target.base_url}: {error}") from None


def url_format(url: str) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return query.get("format", ["jsonl"])[0]


def _opener(url: str) -> urllib.request.OpenerDirector:
    """A direct connection to a server on this machine; the usual proxies otherwise."""
    if urllib.parse.urlsplit(url).hostname in LOOPBACK_HOSTS:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        return str(error.reason)
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or error.reason)


class RowCounter:
    """Counts exported rows as bytes stream by, and draws `exported N / TOTAL sessions`.

    A row is a line: JSONL has one per line, the JSON array one per line between its
    brackets, CSV one per line after the header (a cell with a line break counts twice)."""

    def __init__(self, what: str, total: int, form: str, stream: IO[str] | None) -> None:
        self.what = what
        self.total = total
        self.lines = 0
        self._overhead = {"jsonl": 0, "json": 2, "csv": 1}.get(form, 0)
        self._stream = stream
        self._drawn_at = 0.0

    @property
    def rows(self) -> int:
        return max(0, self.lines - self._overhead)

    def add(self, chunk: bytes) -> None:
        self.lines += chunk.count(b"\n")
        now = time.monotonic()
        if self._stream is not None and now - self._drawn_at >= PROGRESS_INTERVAL_SECONDS:
            self._drawn_at = now
            self._draw()

    def finish(self) -> int:
        if self._stream is not None:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
        return self.rows

    def _draw(self) -> None:
        assert self._stream is not None
        self._stream.write("\r" + progress_line(min(self.rows, self.total), self.total, self.what))
        self._stream.flush()


def progress_line(done: int, total: int, what: str) -> str:
    """`exported 1,200 / 10,000 sessions (12%)`."""
    if total <= 0:
        return f"exported {done:,} {what}"
    return f"exported {done:,} / {total:,} {what} ({100 * done // total}%)"
