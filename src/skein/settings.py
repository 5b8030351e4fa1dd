"""The one settings object, read once at start-up (environment prefix `SKEIN_`, CLI flags win).

Every field is documented in docs/settings.md; a test keeps the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
# Ingestion worker processes when `ingest_processes` is not set: one per CPU, up to this many.
AUTO_INGEST_PROCESSES_MAX = 4


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKEIN_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        Path(".skein"), description="Directory for the embedded SQLite database."
    )
    database_url: str | None = Field(
        None,
        description="Database URL; default `sqlite:///<data_dir>/skein.db`.",
    )
    database_pool_size: int = Field(
        10, gt=0, description="Most PostgreSQL connections one server process opens."
    )
    migrate_on_start: bool = Field(
        True, description="Apply pending PostgreSQL migrations when the server starts."
    )
    workers: int = Field(1, gt=0, description="Server processes `skein serve` runs (PostgreSQL).")
    ingest_processes: int | None = Field(
        None,
        ge=0,
        description=(
            "Worker processes that decode, map and commit OTLP requests; 0 does it in the"
            " server process. Default: one per CPU (at most 4), 0 on one CPU or with `workers` > 1."
        ),
    )
    ingest_queue_bytes: int = Field(
        256 * MIB,
        gt=0,
        description="Request bytes waiting for the ingestion workers before answering 503.",
    )
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(3000, ge=0, le=65535, description="Port the server listens on.")
    init_public_key: str | None = Field(
        None, description="Public key the default project gets on start (for scripts and CI)."
    )
    init_secret_key: SecretStr | None = Field(
        None, description="Secret key that goes with `init_public_key`."
    )
    max_body_bytes: int = Field(
        20 * MIB, gt=0, description="Largest request body accepted, as sent (413 above)."
    )
    max_decoded_bytes: int = Field(
        100 * MIB, gt=0, description="Largest request body accepted after decompression."
    )
    queue_max_spans: int = Field(
        200_000,
        gt=0,
        description="Spans waiting to be written before ingestion answers 503 with Retry-After.",
    )
    write_batch_spans: int = Field(
        20_000, gt=0, description="Most spans committed in one group-commit transaction."
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest time a client may take to send a request body (408)."
    )
    keep_alive_seconds: int = Field(
        5, gt=0, description="How long an idle keep-alive connection stays open."
    )
    limit_concurrency: int | None = Field(
        None, gt=0, description="Most connections and tasks at once before answering 503."
    )
    max_attribute_chars: int = Field(
        1_000_000, gt=0, description="Longest span attribute string kept; longer ones are cut."
    )
    retention_interval_seconds: float = Field(
        600.0, gt=0, description="How often the retention job deletes traces past retention."
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    ui_login: Literal["auto", "required"] = Field(
        "auto",
        description="Web UI login: `auto` (only when not on loopback) or `required` (always).",
    )
    ui_admin_password: SecretStr | None = Field(
        None, description="Password that logs into the web UI with access to every project."
    )

    def resolved_ingest_processes(self) -> int:
        if self.ingest_processes is not None:
            return self.ingest_processes
        cpus = os.cpu_count() or 1
        if cpus < 2 or self.workers > 1:
            return 0
        return min(cpus, AUTO_INGEST_PROCESSES_MAX)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'skein.db'}"
