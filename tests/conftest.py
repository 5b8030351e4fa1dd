"""Fixtures every test tier shares: the throwaway PostgreSQL cluster (`tests.postgres_server`).

Without PostgreSQL installed the tests that need it are skipped, unless SKEIN_TEST_FULL=1
(set by `scripts/test`, which installs it), where they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.postgres_server import PostgresServer, remove, start_server

MISSING = (
    "PostgreSQL is not installed (Debian package `postgresql`, server binaries in"
    " /usr/lib/postgresql/*/bin): `bash scripts/test` installs it"
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_server()
    if server is None:
        if os.environ.get("SKEIN_TEST_FULL") == "1":
            pytest.fail(f"missing prerequisite (SKEIN_TEST_FULL=1): {MISSING}", pytrace=False)
        pytest.skip(MISSING)
    try:
        yield server
    finally:
        remove(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated database of its own for one test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.release_database(url)
