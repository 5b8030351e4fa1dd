"""Client configuration: constructor arguments, then `SKEIN_*`, then the `LANGFUSE_*` names.

An application already configured for Langfuse (`LANGFUSE_HOST`, `LANGFUSE_PUBLIC_KEY`, ...)
works unchanged; `SKEIN_*` wins when both are set. A malformed number in the environment is
ignored with a warning, never an exception.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from skein.sdk.registry import warn_once

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:3000"
DEFAULT_TIMEOUT_SECONDS = 10.0
TRACES_PATH = "/api/public/otel/v1/traces"
SCORES_PATH = "/api/public/scores"
PROJECTS_PATH = "/api/public/projects"

BASE_URL_VARIABLES = ("SKEIN_BASE_URL", "LANGFUSE_BASE_URL", "LANGFUSE_HOST")
PUBLIC_KEY_VARIABLES = ("SKEIN_PUBLIC_KEY", "LANGFUSE_PUBLIC_KEY")
SECRET_KEY_VARIABLES = ("SKEIN_SECRET_KEY", "LANGFUSE_SECRET_KEY")
ENVIRONMENT_VARIABLES = ("SKEIN_ENVIRONMENT", "LANGFUSE_TRACING_ENVIRONMENT")
RELEASE_VARIABLES = ("SKEIN_RELEASE", "LANGFUSE_RELEASE")
TIMEOUT_VARIABLES = ("SKEIN_TIMEOUT", "LANGFUSE_TIMEOUT")
FLUSH_AT_VARIABLES = ("SKEIN_FLUSH_AT", "LANGFUSE_FLUSH_AT")
FLUSH_INTERVAL_VARIABLES = ("SKEIN_FLUSH_INTERVAL", "LANGFUSE_FLUSH_INTERVAL")


@dataclass(frozen=True, slots=True)
class SkeinConfig:
    """Where and how a client sends its data."""

    base_url: str = DEFAULT_BASE_URL
    public_key: str | None = None
    secret_key: str | None = None
    environment: str | None = None
    release: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    flush_at: int | None = None
    flush_interval_seconds: float | None = None

    @property
    def traces_url(self) -> str:
        return self.base_url + TRACES_PATH

    @property
    def scores_url(self) -> str:
        return self.base_url + SCORES_PATH

    @property
    def projects_url(self) -> str:
        return self.base_url + PROJECTS_PATH


def resolve_config(
    *,
    base_url: str | None = None,
    host: str | None = None,
    public_key: str | None = None,
    secret_key: str | None = None,
    environment: str | None = None,
    release: str | None = None,
    timeout: float | None = None,
    flush_at: int | None = None,
    flush_interval: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> SkeinConfig:
    """Each setting from its argument, else the first environment variable that is set."""
    env = os.environ if environ is None else environ
    url = base_url or host or _text(env, BASE_URL_VARIABLES) or DEFAULT_BASE_URL
    return SkeinConfig(
        base_url=url.rstrip("/"),
        public_key=public_key or _text(env, PUBLIC_KEY_VARIABLES),
        secret_key=secret_key or _text(env, SECRET_KEY_VARIABLES),
        environment=environment or _text(env, ENVIRONMENT_VARIABLES),
        release=release or _text(env, RELEASE_VARIABLES),
        timeout_seconds=_first(timeout, _number(env, TIMEOUT_VARIABLES)) or DEFAULT_TIMEOUT_SECONDS,
        flush_at=_whole(_first(flush_at, _number(env, FLUSH_AT_VARIABLES))),
        flush_interval_seconds=_first(flush_interval, _number(env, FLUSH_INTERVAL_VARIABLES)),
    )


def _text(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _number(env: Mapping[str, str], names: tuple[str, ...]) -> float | None:
    for name in names:
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if value > 0:
            return value
        warn_once(logger, f"{name}={text!r} is not a positive number: ignored")
    return None


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def _whole(value: float | None) -> int | None:
    return None if value is None else max(1, int(value))
