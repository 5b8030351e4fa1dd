"""Ingest throughput with two workers on PostgreSQL, and the session-list and session-detail
latencies, beside the same figures for the embedded SQLite on the same workload.

    .venv/bin/python -m bench.postgres [--spans 50000] [--repeat 30]

PostgreSQL runs as a throwaway local cluster (tests/postgres_server.py) with `fsync` on and
`synchronous_commit=off`: the same durability as SQLite's WAL with synchronous=NORMAL (a
commit survives a crash of Skein, not of the OS). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.postgres_server import SERVER_OPTIONS, remove, start_server

from bench import cache
from bench.load import run_load
from bench.queries import _time
from bench.server import Server, basic_authorization
from bench.workload import HUNDRED_SESSION, WorkloadSpec

PG_OPTIONS = SERVER_OPTIONS + " -c synchronous_commit=off -c shared_buffers=256MB"
QUERIES = (
    ("session list, first page", "/api/public/sessions?orderBy=lastActivity.desc&limit=50"),
    ("one session with 100 traces", f"/api/public/sessions/{HUNDRED_SESSION}"),
)


def measure(server: Server, workload: cache.Workload, repeat: int) -> dict[str, Any]:
    files = [workload.client_file(c) for c in range(workload.spec.clients)]
    load = run_load(server.port, basic_authorization(), files)
    figures: dict[str, Any] = {
        "spans": load.spans,
        "seconds": round(load.seconds, 2),
        "spans_per_second": round(load.spans / load.seconds),
        "failures": len(load.failures),
    }
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        for name, path in QUERIES:
            timing = _time(connection, name, path, repeat, None)
            figures[name] = {"status": timing.status, "p50_ms": round(timing.p50_ms, 2),
                             "p95_ms": round(timing.p95_ms, 2)}  # fmt: skip
    finally:
        connection.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.postgres")
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--clients", type=int, default=4)
    options = parser.parse_args()
    workload = cache.prepare(WorkloadSpec(spans=options.spans, seed=8, clients=options.clients))
    scratch = Path(tempfile.mkdtemp(prefix="skein-bench-pg-"))
    report: dict[str, Any] = {"spans": options.spans, "clients": options.clients}
    try:
        with Server(scratch / "sqlite") as server:
            report["sqlite, 1 server process with its ingestion workers"] = measure(
                server, workload, options.repeat
            )
        database = start_server(PG_OPTIONS)
        assert database is not None, "PostgreSQL is not installed"
        try:
            url = database.create_database()
            environment = {"SKEIN_DATABASE_URL": url, "SKEIN_WORKERS": "2"}
            with Server(scratch / "postgres", environment) as server:
                report["postgresql, 2 workers"] = measure(server, workload, options.repeat)
        finally:
            remove(database)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
