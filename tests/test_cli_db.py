"""`skein db backup|restore` and `skein projects list|retention`, in process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from skein.cli import main
from skein.cli_db import serving
from skein.records import MappedBatch
from skein.settings import Settings
from skein.store import open_store
from skein.store.base import Store
from tests.store.factories import PROJECT_ID
from tests.store.test_store_retention import spans_of, trace_id, write_traces

START = 1_767_225_600_000_000_000


def database_of(data_dir: Path) -> Path:
    return data_dir / "skein.db"


def open_at(data_dir: Path) -> Store:
    return open_store(f"sqlite:///{database_of(data_dir)}")


def seeded(data_dir: Path, traces: int) -> None:
    store = open_at(data_dir)
    try:
        write_traces(store, *(spans_of(n, START, START + n) for n in range(1, traces + 1)))
    finally:
        store.close()


def trace_ids(data_dir: Path) -> list[str]:
    store = open_at(data_dir)
    try:
        return sorted(t.trace_id for t in store.list_traces(PROJECT_ID, limit=1000))
    finally:
        store.close()


def run(*args: str, data_dir: Path) -> int:
    return main([*args, "--data-dir", str(data_dir)])


def test_backup_then_restore_brings_the_data_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, backup = tmp_path / "data", tmp_path / "backups" / "skein-backup.db"
    seeded(data_dir, 3)
    assert run("db", "backup", str(backup), data_dir=data_dir) == 0
    assert "3 trace(s)" in capsys.readouterr().out
    assert not list(backup.parent.glob(".*partial*"))
    assert not Path(f"{backup}-wal").exists()  # one self-contained file

    store = open_at(data_dir)
    store.delete_traces(PROJECT_ID, [trace_id(1), trace_id(2)])
    write_traces(store, spans_of(9, START, START + 9))
    store.close()
    assert trace_ids(data_dir) == [trace_id(3), trace_id(9)]

    assert run("db", "restore", str(backup), data_dir=data_dir) == 0
    assert trace_ids(data_dir) == [trace_id(1), trace_id(2), trace_id(3)]


def test_restore_into_an_empty_data_dir(tmp_path: Path) -> None:
    seeded(tmp_path / "a", 2)
    backup = tmp_path / "a.db"
    assert run("db", "backup", str(backup), data_dir=tmp_path / "a") == 0
    assert run("db", "restore", str(backup), data_dir=tmp_path / "b") == 0
    assert trace_ids(tmp_path / "b") == [trace_id(1), trace_id(2)]


def test_restore_refuses_while_a_server_runs_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    seeded(data_dir, 2)
    backup = tmp_path / "backup.db"
    assert run("db", "backup", str(backup), data_dir=data_dir) == 0
    seeded(data_dir, 4)
    with serving(Settings(data_dir=data_dir)):  # what `skein serve` holds while it runs
        assert run("db", "restore", str(backup), data_dir=data_dir) == 1
        assert "a server is running" in capsys.readouterr().err
        assert len(trace_ids(data_dir)) == 4
        assert run("db", "restore", str(backup), "--force", data_dir=data_dir) == 0
    assert len(trace_ids(data_dir)) == 2
    assert run("db", "restore", str(backup), data_dir=data_dir) == 0  # no server now


def corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 2, len(data), 4096):  # scribble over every page but the first
        data[offset + 100 : offset + 300] = b"\xa5" * 200
    path.write_bytes(bytes(data))


def newer(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 0)")
    connection.commit()
    connection.close()


def not_skein(path: Path) -> None:
    path.unlink()
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE something (x)")
    connection.commit()
    connection.close()


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (corrupt, ""),
        (newer, "newer Skein"),
        (not_skein, "not a Skein database"),
        (lambda path: path.write_bytes(b"not a database at all" * 100), "not a readable"),
        (lambda path: path.unlink(), "no backup file"),
    ],
)
def test_restore_refuses_a_backup_it_cannot_trust_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spoil: object, reason: str
) -> None:
    data_dir = tmp_path / "data"
    seeded(data_dir, 30)
    backup = tmp_path / "backup.db"
    assert run("db", "backup", str(backup), data_dir=data_dir) == 0
    seeded(data_dir, 31)
    assert callable(spoil)
    spoil(backup)

    assert run("db", "restore", str(backup), data_dir=data_dir) == 1
    assert "restore refused" in (error := capsys.readouterr().err) and reason in error
    assert len(trace_ids(data_dir)) == 31


def test_backup_of_a_missing_database_fails(tmp_path: Path) -> None:
    assert run("db", "backup", str(tmp_path / "b.db"), data_dir=tmp_path / "none") == 1
    assert not (tmp_path / "b.db").exists()


def test_projects_retention_is_set_listed_and_cleared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_at(tmp_path)
    store.create_project("a", PROJECT_ID)
    store.write([MappedBatch(PROJECT_ID, ())])
    store.close()

    assert run("projects", "retention", PROJECT_ID, "30", data_dir=tmp_path) == 0
    assert run("projects", "list", data_dir=tmp_path) == 0
    assert f"{PROJECT_ID}\ta\tkeeps traces 30 days" in capsys.readouterr().out
    assert run("projects", "retention", PROJECT_ID, "0", data_dir=tmp_path) == 0
    assert run("projects", "list", data_dir=tmp_path) == 0
    assert "keeps traces forever" in capsys.readouterr().out
    assert run("projects", "retention", "nope", "3", data_dir=tmp_path) == 1
    with pytest.raises(SystemExit):
        run("projects", "retention", PROJECT_ID, "-1", data_dir=tmp_path)
