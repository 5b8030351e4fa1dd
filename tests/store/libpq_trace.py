"""Counting a psycopg connection's round trips to PostgreSQL, from libpq's protocol trace.

    with LibpqTrace(connection.pgconn, tmp_path / "trace") as trace:
        ...
    trace.round_trips()   # how many times the client waited for the server to be ready

Each Sync (extended protocol) or Query (simple protocol) message is answered by one
ReadyForQuery: the client waits for that answer before it can use the result, so the number
of ReadyForQuery messages is the number of round trips, however many statements a pipeline
sent before its one Sync.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO, Self

from psycopg import pq

READY = "ReadyForQuery"


class LibpqTrace:
    def __init__(self, pgconn: pq.abc.PGconn, path: Path) -> None:
        self._pgconn = pgconn
        self._path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> Self:
        self._file = self._path.open("w")
        self._pgconn.trace(self._file.fileno())
        self._pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pgconn.untrace()
        if self._file is not None:
            self._file.close()

    def messages(self) -> list[str]:
        """The traced messages, one line each: direction, length, type, fields."""
        return self._path.read_text().splitlines()

    def round_trips(self) -> int:
        return sum(1 for line in self.messages() if line.split("\t")[2:3] == [READY])

    def sent(self, text: str) -> bool:
        """Whether a message the client sent contains `text` (e.g. a statement's SQL)."""
        return any(line.startswith("F") and text in line for line in self.messages())
