"""`skein db migrate` and `skein db copy` (skein.cli_db_copy)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from skein.cli import main
from skein.cli_db_copy import progress_line
from skein.store import open_store
from skein.store.migrations import packaged_migrations
from tests.postgres_server import PostgresServer


def test_progress_line_fills_with_the_share_done() -> None:
    assert progress_line(0, 200).startswith("[" + "." * 30 + "]")
    assert progress_line(100, 200).startswith("[" + "#" * 15 + "." * 15 + "]")
    assert progress_line(200, 200).endswith("100%  200/200 rows")


def test_migrate_brings_an_empty_postgresql_database_up_to_date(
    postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE cli_migrate")
    url = postgres_server.url("cli_migrate")
    try:
        assert main(["db", "migrate", "--database-url", url]) == 0
        first = capsys.readouterr().out
        assert main(["db", "migrate", "--database-url", url]) == 0
        second = capsys.readouterr().out
    finally:
        postgres_server.drop_database(url)

    newest = packaged_migrations("postgresql")[-1]
    assert f"{newest.version:04d}_{newest.name}" in first
    assert second.strip() == "the database is up to date"


def test_copy_moves_a_sqlite_install(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'skein.db'}"
    source = open_store(sqlite_url)
    project = source.create_project("moved")
    source.close()

    assert main(["db", "copy", "--from", sqlite_url, "--to", postgres_url]) == 0

    target = open_store(postgres_url)
    try:
        assert [p.id for p in target.list_projects()] == [project.id]
    finally:
        target.close()
    assert capsys.readouterr().out.startswith("copied ")


def test_copy_refuses_urls_the_wrong_way_round(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "copy", "--from", "postgresql://x/y", "--to", "sqlite:///a.db"]) == 2
    assert "--from must be sqlite" in capsys.readouterr().err
