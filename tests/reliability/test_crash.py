"""Crash safety: what a server acknowledged survives SIGKILL, and SIGTERM drains the queue.

Several client processes (`ingest_client`) send OTLP spans of shared traces and sessions
continuously; each records a span only after the server answered 2xx for it. The test kills
the server at random moments, and after every death checks the database: it passes its
integrity check, holds every acknowledged span, and every stored trace and session equals
its fold recomputed from scratch from the stored observations. Then it restarts the server
on the same data directory and goes on.

Runs once per storage backend (`backend`: SQLite, and PostgreSQL where it is installed).
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tests.reliability.servers import (
    BACKEND_NAMES,
    Backend,
    ServerProcess,
    backend_for,
    check_database,
    ingesting_clients,
    wait_for_acknowledgements,
)

pytestmark = pytest.mark.e2e

KILL_ROUNDS = 4
TERM_ROUNDS = 2
# After ingestion is seen to go on, the signal comes this long (at random) later.
ROUND_SECONDS = (0.0, 2.0)
DRAIN_LOG_LINE = "write queue drained; writer stopped"
SHUTDOWN_LOG_LINE = "Application shutdown complete."
# uvicorn re-raises the signal once its graceful shutdown is complete.
CLEAN_EXIT_CODES = (0, -signal.SIGTERM)


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Backend:
    return backend_for(request, request.param)


def test_acknowledged_spans_survive_sigkill_at_random_moments(
    backend: Backend, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    server = ServerProcess(backend, data_dir)
    server.start()
    try:
        with ingesting_clients(server.server.base_url, tmp_path, seed) as clients:
            acknowledged = 0
            for _ in range(KILL_ROUNDS):
                wait_for_acknowledgements(clients, acknowledged)
                time.sleep(rng.uniform(*ROUND_SECONDS))
                server.kill()
                acked = clients.acknowledged()
                acknowledged = len(acked)
                check_database(backend, data_dir, acked)
                server.start()
            reports = clients.finish()
        server.stop()
        assert sum(r["acknowledged"] for r in reports) >= acknowledged
        check_database(backend, data_dir, clients.acknowledged())
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-4000:]


def test_sigterm_drains_the_write_queue_before_exiting(backend: Backend, tmp_path: Path) -> None:
    """Requests in flight at SIGTERM get a 2xx and are stored, or get an error: never a 2xx
    without the data. The lifespan's shutdown closes the writer, which drains its queue."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    server = ServerProcess(backend, data_dir)
    server.start()
    answered_while_stopping = 0
    try:
        with ingesting_clients(server.server.base_url, tmp_path, seed) as clients:
            for round_number in range(TERM_ROUNDS):
                wait_for_acknowledgements(clients, len(clients.acknowledged()))
                time.sleep(rng.uniform(*ROUND_SECONDS))
                before = len(clients.acknowledged())
                assert server.terminate() in CLEAN_EXIT_CODES, server.log()[-4000:]
                time.sleep(0.2)  # let clients record the answers they got while it stopped
                acked = clients.acknowledged()
                answered_while_stopping += len(acked) - before
                log = server.log()
                assert log.count(DRAIN_LOG_LINE) == round_number + 1, log[-4000:]
                assert log.count(SHUTDOWN_LOG_LINE) == round_number + 1, log[-4000:]
                check_database(backend, data_dir, acked)
                server.start()
            clients.finish()
        server.stop()
        check_database(backend, data_dir, clients.acknowledged())
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-4000:]
    # The check above is only meaningful if some requests were in flight at the signal.
    assert answered_while_stopping > 0, f"seed {seed}: nothing was in flight at SIGTERM"
