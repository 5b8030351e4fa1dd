"""A real `skein serve` that the reliability tests start, kill and restart on one data
directory, and the storage backends they run it on.

A backend knows how to point a server at its database, open that database for checking, and
check its physical integrity: SQLite, and PostgreSQL (the tests' throwaway cluster, where it
is installed). Another backend is one more `Backend` class, one more name in `BACKEND_NAMES`
and a branch in `backend_for`.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest

from skein.fold import fold_session, fold_trace
from skein.store import open_store
from skein.store.base import Store
from tests.e2e.conftest import (
    PUBLIC_KEY,
    REPO_ROOT,
    SECRET_KEY,
    Server,
    clean_environment,
    free_port,
    server_command,
    tail,
    wait_until_healthy,
)

ALL_ROWS = 100_000
EXIT_SECONDS = 20.0
CLIENTS = 3
CLIENT_EXIT_SECONDS = 30.0


class Backend(Protocol):
    name: str

    def environment(self, data_dir: Path) -> dict[str, str]:
        """The SKEIN_* variables that point a server at this backend's database."""
        ...

    def open_store(self, data_dir: Path) -> Store: ...

    def integrity_problems(self, data_dir: Path) -> list[str]:
        """What the database's own consistency check reports (empty when sound)."""
        ...


@dataclass(frozen=True, slots=True)
class SQLiteBackend:
    name: str = "sqlite"

    def database(self, data_dir: Path) -> Path:
        return data_dir / "skein.db"

    def environment(self, data_dir: Path) -> dict[str, str]:
        return {"SKEIN_DATA_DIR": str(data_dir)}

    def open_store(self, data_dir: Path) -> Store:
        return open_store(f"sqlite:///{self.database(data_dir)}")

    def integrity_problems(self, data_dir: Path) -> list[str]:
        connection = sqlite3.connect(self.database(data_dir))
        try:
            rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        finally:
            connection.close()
        return [] if rows == ["ok"] else rows


@dataclass(frozen=True, slots=True)
class PostgresBackend:
    """A database of the tests' throwaway PostgreSQL cluster (the `postgres_url` fixture)."""

    url: str
    name: str = "postgresql"

    def environment(self, data_dir: Path) -> dict[str, str]:
        return {"SKEIN_DATA_DIR": str(data_dir), "SKEIN_DATABASE_URL": self.url}

    def open_store(self, data_dir: Path) -> Store:
        return open_store(self.url)

    def integrity_problems(self, data_dir: Path) -> list[str]:
        """PostgreSQL has no integrity_check; only the Skein server dies in these tests, the
        database server goes on. Check that every index is valid and the database answers."""
        with psycopg.connect(self.url) as connection:
            rows = connection.execute(INVALID_INDEXES).fetchall()
        return [f"invalid index {row[0]}" for row in rows]


INVALID_INDEXES = (
    "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid OR NOT indisready"
)
BACKEND_NAMES = ("sqlite", "postgresql")


def backend_for(request: pytest.FixtureRequest, name: str) -> Backend:
    """The backend of a `backend` fixture parameter (PostgreSQL skips when not installed)."""
    if name == "sqlite":
        return SQLiteBackend()
    url: str = request.getfixturevalue("postgres_url")
    return PostgresBackend(url)


@dataclass(slots=True)
class ServerProcess:
    """One `skein serve` on a fixed port and data directory, restartable; its output goes
    to one log for all its lives."""

    backend: Backend
    data_dir: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> Server:
        return Server(f"http://127.0.0.1:{self.port}", self.data_dir, self.log_path)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        environment = {
            **self.backend.environment(self.data_dir),
            "SKEIN_INIT_PUBLIC_KEY": PUBLIC_KEY,
            "SKEIN_INIT_SECRET_KEY": SECRET_KEY,
            **self.extra_env,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                server_command(self.port),
                env=clean_environment(environment),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_healthy(self.process, self.server)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=EXIT_SECONDS)

    def terminate(self) -> int:
        """SIGTERM, then wait for the graceful shutdown; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"skein serve did not exit on SIGTERM:\n{tail(self.log_path)}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.terminate()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def server_process(backend: Backend, data_dir: Path, **extra_env: str) -> Iterator[ServerProcess]:
    """A started server; stopped (SIGTERM) on exit if it still runs."""
    process = ServerProcess(backend, data_dir, extra_env)
    process.start()
    try:
        yield process
    finally:
        process.stop()


# -- What a sound database looks like -------------------------------------------------------------


def stored_span_ids(store: Store, project_id: str) -> set[tuple[str, str]]:
    """Every (trace id, span id) the project has stored."""
    traces = store.list_traces(project_id, limit=ALL_ROWS)
    found = store.get_observation_ids(project_id, [t.trace_id for t in traces])
    return {(trace_id, span_id) for trace_id, ids in found.items() for span_id in ids}


def rollup_mismatches(store: Store, project_id: str) -> list[str]:
    """Every stored trace and session that differs from its fold computed from scratch over
    the stored observations (and traces), and every session a trace names that is missing."""
    problems: list[str] = []
    traces = store.list_traces(project_id, limit=ALL_ROWS)
    for trace in traces:
        folded = fold_trace(store.list_observations(project_id, trace.trace_id))
        if folded != trace:
            problems.append(f"trace {trace.trace_id}: stored {trace} != folded {folded}")
    sessions = store.list_sessions(project_id, limit=ALL_ROWS)
    for session in sessions:
        members = store.list_traces(project_id, session_id=session.session_id, limit=ALL_ROWS)
        folded_session = fold_session(session.session_id, members) if members else None
        if folded_session != session:
            problems.append(f"session {session.session_id}: {session} != {folded_session}")
    named = {t.session_id for t in traces if t.session_id is not None}
    missing = named - {s.session_id for s in sessions}
    problems.extend(f"session {s} has traces but no row" for s in sorted(missing))
    return problems


def project_of(store: Store) -> str:
    key = store.find_key(PUBLIC_KEY)
    assert key is not None, "the server never stored its key"
    return key.project_id


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds}s waiting for {what}")


# -- Clients that ingest continuously -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clients:
    processes: tuple[subprocess.Popen[str], ...]
    acked_files: tuple[Path, ...]
    stop_file: Path

    def acknowledged(self) -> set[tuple[str, str]]:
        """Every span some client got a 2xx for (complete lines only: a client may be
        writing one right now)."""
        found: set[tuple[str, str]] = set()
        for path in self.acked_files:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            for line in text.splitlines(keepends=True):
                if line.endswith("\n"):
                    trace_id, span_id = line.split()
                    found.add((trace_id, span_id))
        return found

    def finish(self) -> list[dict[str, Any]]:
        """Tell the clients to stop; their reports."""
        self.stop_file.touch()
        reports = []
        for process in self.processes:
            out, err = process.communicate(timeout=CLIENT_EXIT_SECONDS)
            assert process.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports


@contextmanager
def ingesting_clients(base_url: str, directory: Path, seed: int) -> Iterator[Clients]:
    files = tuple(directory / f"acked-{n}.txt" for n in range(CLIENTS))
    stop_file = directory / "stop"
    processes = tuple(
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.ingest_client"]
            + [base_url, str(path), str(stop_file), str(seed + n)],
            cwd=REPO_ROOT,
            env=clean_environment({}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, path in enumerate(files)
    )
    try:
        yield Clients(processes, files, stop_file)
    finally:
        stop_file.touch()
        for process in processes:
            try:
                process.communicate(timeout=CLIENT_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def check_database(backend: Backend, data_dir: Path, acknowledged: set[tuple[str, str]]) -> int:
    """Fail unless the stopped server's database is sound, holds every acknowledged span and
    has every rollup equal to its fold; how many spans it holds."""
    assert backend.integrity_problems(data_dir) == []
    store = backend.open_store(data_dir)
    try:
        project_id = project_of(store)
        stored = stored_span_ids(store, project_id)
        lost = sorted(acknowledged - stored)
        assert not lost, f"{len(lost)} acknowledged spans were lost, e.g. {lost[:5]}"
        assert rollup_mismatches(store, project_id) == []
        return len(stored)
    finally:
        store.close()


def wait_for_acknowledgements(clients: Clients, more_than: int, seconds: float = 30.0) -> None:
    """Until the clients have had more than `more_than` spans acknowledged (the server is up
    and ingesting)."""
    wait_for(lambda: len(clients.acknowledged()) > more_than, seconds, "acknowledgements")
