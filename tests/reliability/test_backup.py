"""`skein db backup` of a live database while clients ingest, and `skein db restore` of it.

Each backup must open cleanly, pass `PRAGMA integrity_check`, hold every span acknowledged
before the backup began, and have every trace and session equal to its fold: a consistent
snapshot, not a copy torn across transactions.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_environment
from tests.reliability.servers import (
    SQLiteBackend,
    check_database,
    ingesting_clients,
    server_process,
    wait_for_acknowledgements,
)

pytestmark = pytest.mark.e2e

BACKUPS = 3


def skein(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skein", *args, "--data-dir", str(data_dir)],
        env=clean_environment({}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_backups_taken_during_ingestion_are_consistent_and_restore(tmp_path: Path) -> None:
    backend = SQLiteBackend()
    data_dir = tmp_path / "data"
    with server_process(backend, data_dir) as server:
        with ingesting_clients(server.server.base_url, tmp_path, seed=11) as clients:
            snapshots = []
            for number in range(BACKUPS):
                previous = len(snapshots[-1][1]) if snapshots else 0
                wait_for_acknowledgements(clients, previous)
                time.sleep(0.3)
                acknowledged = clients.acknowledged()
                copy_dir = tmp_path / f"copy-{number}"
                made = skein("db", "backup", str(copy_dir / "skein.db"), data_dir=data_dir)
                assert made.returncode == 0, made.stderr
                snapshots.append((copy_dir, acknowledged))
            refused = skein("db", "restore", str(snapshots[0][0] / "skein.db"), data_dir=data_dir)
            assert refused.returncode == 1 and "a server is running" in refused.stderr
            clients.finish()

    counts = [check_database(backend, copy, acked) for copy, acked in snapshots]
    assert counts == sorted(counts) and counts[0] > 0  # later copies hold more

    restored = tmp_path / "restored"
    result = skein("db", "restore", str(snapshots[-1][0] / "skein.db"), data_dir=restored)
    assert result.returncode == 0, result.stderr
    assert check_database(backend, restored, snapshots[-1][1]) == counts[-1]
    with server_process(backend, restored) as server:
        assert server.process is not None and server.process.poll() is None
