"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a data directory
in a temporary folder, listening on 127.0.0.1 on a free port, stopped at the end.

The server refuses to run as root, so as root the cluster is owned and run by the `postgres`
user (created by Debian's package). Durability is switched off (`fsync=off`): a test
database is thrown away anyway. Each test gets its own database, copied from a migrated
template, which is much faster than migrating each one.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from skein.store.postgres import PostgresStore

BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "skein"
TEMPLATE = "skein_template"
SERVER_OPTIONS = "-c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB"
# Tests throw their databases away; the benchmark keeps fsync (see bench/postgres.py).
NOT_DURABLE = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

MIGRATION_VERSIONS = "SELECT version FROM schema_migrations ORDER BY version"
USER_TABLES = (
    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
    " AND tablename != 'schema_migrations' ORDER BY tablename"
)


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob(BIN_GLOB), key=lambda p: int(Path(p).parent.name))
    usable = [Path(p) for p in found if (Path(p) / "initdb").exists()]
    return usable[-1] if usable else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    bin_dir: Path
    directory: Path
    port: int = field(default_factory=free_port)
    options: str = SERVER_OPTIONS + NOT_DURABLE
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _recycled: list[str] = field(default_factory=list)
    _template_versions: list[int] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self.directory.chmod(0o755)
        _give_to_server_user(self.directory)
        self._run("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        options = f"{self.options} -p {self.port} -c unix_socket_directories={self.directory}"
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.directory / "log"),
                  "-o", options, "-w", "start")  # fmt: skip
        self._create_template()

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def create_database(self) -> str:
        """An empty, migrated database; its URL. A released one is emptied and handed out
        again: copying the template costs a few hundred milliseconds, emptying a few."""
        if self._recycled:
            return self._recycled.pop()
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE} STRATEGY FILE_COPY')
        return self.url(name)

    def release_database(self, url: str) -> None:
        """Give a database back (no connection may remain): emptied for reuse when its schema
        is the template's, dropped otherwise."""
        with psycopg.connect(url, autocommit=True) as connection:
            versions = connection.execute(MIGRATION_VERSIONS).fetchall()
            if [row[0] for row in versions] != self._template_versions:
                connection.close()
                self.drop_database(url)
                return
            tables = [row[0] for row in connection.execute(USER_TABLES)]
            connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        self._recycled.append(url)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _create_template(self) -> None:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {TEMPLATE}")
        PostgresStore(self.url(TEMPLATE), pool_size=1).close()
        with psycopg.connect(self.url(TEMPLATE)) as connection:
            versions = connection.execute(MIGRATION_VERSIONS).fetchall()
        self._template_versions = [row[0] for row in versions]

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.bin_dir / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


def _give_to_server_user(directory: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")


def start_server(options: str = SERVER_OPTIONS + NOT_DURABLE) -> PostgresServer | None:
    """A running throwaway cluster, or None when PostgreSQL is not installed."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return None
    directory = Path(tempfile.mkdtemp(prefix="skein-pg-"))
    server = PostgresServer(bin_dir, directory, options=options)
    server.start()
    return server


def remove(server: PostgresServer) -> None:
    try:
        server.stop()
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)
