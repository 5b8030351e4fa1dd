"""The e2e tier: the real `skein serve` as a subprocess, driven by real client SDKs.

Each test module gets one server (`skein_server`) on 127.0.0.1 with a fresh data directory
and fixed keys. A test runs a client program from `clients/` as a subprocess pointed at it,
then reads the stored result straight from the server's SQLite database (a 2xx answer means
committed, so no waiting is needed once the client has exited).

A prerequisite that is missing (the langfuse 3.x virtualenv, Node and the JS client's node
modules) skips the tests that need it, unless SKEIN_TEST_FULL=1 (set by `scripts/test`),
where it fails them instead.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skein.fold import SessionSummary, TraceSummary
from skein.records import Observation
from skein.store import open_store
from skein.store.base import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parent / "clients"
JS_CLIENTS = CLIENTS / "js"
JS4_CLIENTS = CLIENTS / "js4"
LANGFUSE3_PYTHON = REPO_ROOT / ".venv-langfuse3" / "bin" / "python"
LANGFUSE4_PYTHON = REPO_ROOT / ".venv-langfuse4" / "bin" / "python"
# traceloop-sdk and the OTLP/JSON exporter pin an older OpenTelemetry than `.venv` has.
OTEL_CONTRIB_PYTHON = REPO_ROOT / ".venv-otel-contrib" / "bin" / "python"

PUBLIC_KEY = "pk-lf-e2e-0123456789"
SECRET_KEY = "sk-lf-e2e-9876543210"
# Variables that would point the server or a client somewhere else (a proxy included: all
# traffic here is loopback), or change how a client program behaves.
FOREIGN_ENV_PREFIXES = ("SKEIN_", "LANGFUSE_", "OTEL_")
FOREIGN_ENV_NAMES = frozenset(
    {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "PYTHONWARNINGS", "NODE_OPTIONS"}
)

STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0
CLIENT_SECONDS = 180.0
LOG_TAIL_CHARS = 4000
ALL_ROWS = 10_000


def require(present: bool, reason: str) -> None:
    """Skip the test when a prerequisite is absent, or fail it under SKEIN_TEST_FULL=1."""
    if present:
        return
    if os.environ.get("SKEIN_TEST_FULL") == "1":
        pytest.fail(f"missing prerequisite (SKEIN_TEST_FULL=1): {reason}", pytrace=False)
    pytest.skip(f"{reason}; `bash scripts/test` installs it")


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the foreign variables above, plus EXTRA."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(FOREIGN_ENV_PREFIXES) and name.upper() not in FOREIGN_ENV_NAMES
    }
    return {**kept, **extra}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tail(path: Path) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-LOG_TAIL_CHARS:]


@dataclass(frozen=True, slots=True)
class ClientRun:
    """What a client program printed: its JSON report (last stdout line) and its stderr."""

    report: dict[str, Any]
    stderr: str


@dataclass(frozen=True, slots=True)
class StoreView:
    """Read access to what the server stored for the default project."""

    store: Store
    project_id: str

    def traces(self, session_id: str | None = None) -> list[TraceSummary]:
        return self.store.list_traces(self.project_id, session_id=session_id, limit=ALL_ROWS)

    def observations(self, trace_id: str) -> list[Observation]:
        return self.store.list_observations(self.project_id, trace_id)

    def session(self, session_id: str) -> SessionSummary:
        found = self.store.get_session(self.project_id, session_id)
        assert found is not None, f"no session {session_id!r} stored"
        return found

    def session_contents(self, session_id: str) -> dict[str, list[str]]:
        """Each trace of the session, by id, with the sorted names of its observations."""
        return {
            trace.trace_id: sorted(o.name for o in self.observations(trace.trace_id))
            for trace in self.traces(session_id)
        }

    def checked_session(self, session_id: str) -> SessionSummary:
        """The session, after checking its rollups against all its traces' observations."""
        session = self.session(session_id)
        members = [o for t in self.traces(session_id) for o in self.observations(t.trace_id)]
        assert session.trace_count == len(self.traces(session_id))
        assert session.observation_count == len(members)
        assert session.input_tokens == sum(o.input_tokens for o in members)
        assert session.output_tokens == sum(o.output_tokens for o in members)
        assert session.total_tokens == sum(o.total_tokens for o in members)
        assert session.total_cost == pytest.approx(sum(o.total_cost or 0.0 for o in members))
        return session


def sorted_names(traces: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A client's {trace_id: names} report in the shape of `StoreView.session_contents`."""
    return {trace_id: sorted(names) for trace_id, names in traces.items()}


def name_counts(contents: Mapping[str, Sequence[str]]) -> Counter[tuple[str, ...]]:
    """The traces' observation-name lists as a multiset, for traces whose ids are unknown."""
    return Counter(tuple(sorted(names)) for names in contents.values())


@dataclass(frozen=True, slots=True)
class Server:
    """A running `skein serve` and the keys of its default project."""

    base_url: str
    data_dir: Path
    log_path: Path
    public_key: str = PUBLIC_KEY
    secret_key: str = SECRET_KEY

    def client_environment(self, **overrides: str) -> dict[str, str]:
        settings = {
            "LANGFUSE_BASE_URL": self.base_url,
            "LANGFUSE_HOST": self.base_url,
            "LANGFUSE_PUBLIC_KEY": self.public_key,
            "LANGFUSE_SECRET_KEY": self.secret_key,
        }
        return clean_environment({**settings, **overrides})

    def run_client(self, command: Sequence[str | Path], **env_overrides: str) -> ClientRun:
        """Run a client program against this server; fail the test if it does not succeed."""
        finished = subprocess.run(
            [str(part) for part in command],
            env=self.client_environment(**env_overrides),
            cwd=CLIENTS,
            capture_output=True,
            text=True,
            timeout=CLIENT_SECONDS,
            check=False,
        )
        if finished.returncode != 0 or not finished.stdout.strip():
            pytest.fail(
                f"client {command} exited {finished.returncode}\n"
                f"stdout:\n{finished.stdout[-LOG_TAIL_CHARS:]}\n"
                f"stderr:\n{finished.stderr[-LOG_TAIL_CHARS:]}\n"
                f"server log:\n{tail(self.log_path)}",
                pytrace=False,
            )
        report = json.loads(finished.stdout.strip().splitlines()[-1])
        return ClientRun(report=report, stderr=finished.stderr)

    @contextmanager
    def read(self) -> Iterator[StoreView]:
        """Open the server's database (alongside the running server) for reading."""
        store = open_store("sqlite:///" + str(self.data_dir / "skein.db"))
        try:
            key = store.find_key(self.public_key)
            assert key is not None, f"the server did not store the key {self.public_key}"
            yield StoreView(store=store, project_id=key.project_id)
        finally:
            store.close()


def server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "skein", "serve", "--host", "127.0.0.1", "--port", str(port)]


def server_environment(data_dir: Path) -> dict[str, str]:
    return clean_environment(
        {
            "SKEIN_DATA_DIR": str(data_dir),
            "SKEIN_INIT_PUBLIC_KEY": PUBLIC_KEY,
            "SKEIN_INIT_SECRET_KEY": SECRET_KEY,
        }
    )


def answers_health(base_url: str) -> bool:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(base_url + "/api/public/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_until_healthy(process: subprocess.Popen[bytes], server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"skein serve exited with {process.returncode} before answering health:\n"
                f"{tail(server.log_path)}",
                pytrace=False,
            )
        if answers_health(server.base_url):
            return
        time.sleep(0.1)
    pytest.fail(
        f"skein serve did not answer {server.base_url}/api/public/health within "
        f"{STARTUP_SECONDS:.0f}s:\n{tail(server.log_path)}",
        pytrace=False,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)


@contextmanager
def running_server(data_dir: Path) -> Iterator[Server]:
    """Start `skein serve` on a free loopback port with DATA_DIR; stop it on exit.

    On exit the server's log must hold no traceback: clients only log failed exports, so
    an exception inside the server would otherwise go unnoticed.
    """
    port = free_port()
    server = Server(
        base_url=f"http://127.0.0.1:{port}", data_dir=data_dir, log_path=data_dir / "server.log"
    )
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(port),
            env=server_environment(data_dir),
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


@pytest.fixture(scope="module")
def skein_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server for the test module; tests use distinct session ids."""
    with running_server(tmp_path_factory.mktemp("skein-data")) as server:
        yield server


@pytest.fixture(scope="session")
def langfuse5_python() -> str:
    """The interpreter with langfuse 5.x: this one (the test extra installs it)."""
    try:
        version = importlib.metadata.version("langfuse")
    except importlib.metadata.PackageNotFoundError:
        version = ""
    require(version.startswith("5."), f"langfuse 5.x is not installed here (found {version!r})")
    return sys.executable


@pytest.fixture(scope="session")
def langfuse3_python() -> Path:
    """The interpreter of the separate virtualenv with langfuse 3.x (the seed's API)."""
    require(LANGFUSE3_PYTHON.exists(), f"{LANGFUSE3_PYTHON} does not exist")
    return LANGFUSE3_PYTHON


@pytest.fixture(scope="session")
def langfuse4_python() -> Path:
    """The interpreter of the separate virtualenv with langfuse 4.x (and LangChain)."""
    require(LANGFUSE4_PYTHON.exists(), f"{LANGFUSE4_PYTHON} does not exist")
    return LANGFUSE4_PYTHON


@pytest.fixture(scope="session")
def otel_contrib_python() -> Path:
    """The interpreter of the virtualenv with traceloop-sdk and the OTLP/JSON exporter."""
    require(OTEL_CONTRIB_PYTHON.exists(), f"{OTEL_CONTRIB_PYTHON} does not exist")
    return OTEL_CONTRIB_PYTHON


@pytest.fixture(scope="session")
def node4(node: str) -> str:
    """Node, with the Langfuse JS 4.x client's node modules (`clients/js4`) installed."""
    require((JS4_CLIENTS / "node_modules").is_dir(), f"{JS4_CLIENTS}/node_modules is missing")
    return node


@pytest.fixture(scope="session")
def node() -> str:
    """Node, with the JS client's node modules installed."""
    found = shutil.which("node")
    require(found is not None, "node is not on PATH")
    require((JS_CLIENTS / "node_modules").is_dir(), f"{JS_CLIENTS}/node_modules is missing")
    assert found is not None
    return found
