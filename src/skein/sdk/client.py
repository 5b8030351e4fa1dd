"""The `Skein` client and `get_client()`.

`get_client()` returns the process's default client: the most recently created `Skein(...)`
that has not been shut down, or a new one configured from the environment. Every method is
safe to call from user code: SDK failures are logged once, never raised.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any, Unpack

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace.export import SpanExporter

from skein.sdk.config import SkeinConfig, resolve_config
from skein.sdk.pipeline import Pipeline
from skein.sdk.processor import HoldLimits
from skein.sdk.public_api import auth_headers, call_json
from skein.sdk.registry import PROCESS, error_once, warn_once
from skein.sdk.scores import ScoreTarget
from skein.sdk.spans import (
    CurrentObservation,
    GenerationFields,
    ObservationType,
    SkeinGeneration,
    SkeinSpan,
    SpanFields,
    TraceContext,
    TraceFields,
    apply_observation_fields,
    send_score,
    start_observation,
    trace_attributes,
)

logger = logging.getLogger(__name__)


class Skein:
    """A tracing client: observations, trace updates, scores, flush and shutdown.

    Arguments override the environment (`SKEIN_*`, then `LANGFUSE_*`; see `resolve_config`).
    `span_exporter` replaces the OTLP/HTTP exporter (tests pass an in-memory one);
    `hold_limits` bounds what the trace-attribute processor holds back.
    """

    def __init__(
        self,
        *,
        public_key: str | None = None,
        secret_key: str | None = None,
        base_url: str | None = None,
        host: str | None = None,
        environment: str | None = None,
        release: str | None = None,
        timeout: float | None = None,
        flush_at: int | None = None,
        flush_interval: float | None = None,
        span_exporter: SpanExporter | None = None,
        hold_limits: HoldLimits | None = None,
    ) -> None:
        config = resolve_config(
            base_url=base_url,
            host=host,
            public_key=public_key,
            secret_key=secret_key,
            environment=environment,
            release=release,
            timeout=timeout,
            flush_at=flush_at,
            flush_interval=flush_interval,
        )
        if span_exporter is None and not (config.public_key and config.secret_key):
            warn_once(logger, "no public/secret key configured (SKEIN_PUBLIC_KEY, ...)")
        self._pipeline = Pipeline(config, span_exporter, hold_limits)
        _register(self)

    def __repr__(self) -> str:
        return f"<Skein {self.config.base_url} public_key={self.config.public_key!r}>"

    @property
    def config(self) -> SkeinConfig:
        return self._pipeline.config

    @property
    def tracer(self) -> otel_trace.Tracer:
        """The OpenTelemetry tracer this client's spans come from (scope `skein-sdk`)."""
        return self._pipeline.tracer

    # --- starting observations -------------------------------------------------------------

    def _start(
        self, name: str, as_type: str, fields: Any, trace_context: TraceContext | None
    ) -> SkeinSpan:
        return start_observation(self._pipeline, name, as_type, None, fields, trace_context)

    def start_span(
        self, name: str, *, trace_context: TraceContext | None = None, **fields: Unpack[SpanFields]
    ) -> SkeinSpan:
        """Start a span under the current one (or as a new trace); end it with `.end()`."""
        return self._start(name, "span", fields, trace_context)

    def start_generation(
        self,
        name: str,
        *,
        trace_context: TraceContext | None = None,
        **fields: Unpack[GenerationFields],
    ) -> SkeinGeneration:
        return self._start(name, "generation", fields, trace_context)  # type: ignore[return-value]

    def start_observation(
        self,
        name: str,
        *,
        as_type: ObservationType = "span",
        trace_context: TraceContext | None = None,
        **fields: Unpack[GenerationFields],
    ) -> SkeinSpan:
        return self._start(name, as_type, fields, trace_context)

    def start_as_current_span(
        self,
        name: str,
        *,
        trace_context: TraceContext | None = None,
        end_on_exit: bool = True,
        **fields: Unpack[SpanFields],
    ) -> CurrentObservation[SkeinSpan]:
        """`with client.start_as_current_span(name=...) as span:` — current inside the block."""
        return CurrentObservation(self._start(name, "span", fields, trace_context), end_on_exit)

    def start_as_current_generation(
        self,
        name: str,
        *,
        trace_context: TraceContext | None = None,
        end_on_exit: bool = True,
        **fields: Unpack[GenerationFields],
    ) -> CurrentObservation[SkeinGeneration]:
        generation = self._start(name, "generation", fields, trace_context)
        return CurrentObservation(generation, end_on_exit)  # type: ignore[arg-type]

    def start_as_current_observation(
        self,
        name: str,
        *,
        as_type: ObservationType = "span",
        trace_context: TraceContext | None = None,
        end_on_exit: bool = True,
        **fields: Unpack[GenerationFields],
    ) -> CurrentObservation[SkeinSpan]:
        return CurrentObservation(self._start(name, as_type, fields, trace_context), end_on_exit)

    def create_event(
        self, name: str, *, trace_context: TraceContext | None = None, **fields: Unpack[SpanFields]
    ) -> SkeinSpan:
        """An event: an observation that starts and ends at once."""
        return self._start(name, "event", fields, trace_context).end()

    # --- updating the current observation and trace ----------------------------------------

    def update_current_span(self, *, name: str | None = None, **fields: Unpack[SpanFields]) -> None:
        self._update_current("update_current_span", name, fields)

    def update_current_generation(
        self, *, name: str | None = None, **fields: Unpack[GenerationFields]
    ) -> None:
        self._update_current("update_current_generation", name, fields)

    def _update_current(self, where: str, name: str | None, fields: Any) -> None:
        span = _current_span(where)
        if span is None:
            return
        try:
            if name is not None:
                span.update_name(str(name))
            apply_observation_fields(span, fields, where)
        except Exception as error:
            error_once(logger, f"{where} failed", error)

    def update_current_trace(self, **fields: Unpack[TraceFields]) -> None:
        """Set trace-level values (session, user, name, tags...) on the whole current trace."""
        span = _current_span("update_current_trace")
        if span is None:
            return
        try:
            self._pipeline.update_trace(span, trace_attributes(fields, "update_current_trace"))
        except Exception as error:
            error_once(logger, "update_current_trace failed", error)

    def set_current_trace_as_public(self) -> None:
        self.update_current_trace(public=True)

    def get_current_trace_id(self) -> str | None:
        context = otel_trace.get_current_span().get_span_context()
        return otel_trace.format_trace_id(context.trace_id) if context.is_valid else None

    def get_current_observation_id(self) -> str | None:
        context = otel_trace.get_current_span().get_span_context()
        return otel_trace.format_span_id(context.span_id) if context.is_valid else None

    @staticmethod
    def create_trace_id(*, seed: str | None = None) -> str:
        """A new trace id, or the one SEED always gives (the first 16 bytes of its SHA-256)."""
        if seed is None:
            return secrets.token_hex(16)
        return hashlib.sha256(seed.encode("utf-8")).digest()[:16].hex()

    # --- scores ------------------------------------------------------------------------------

    def create_score(
        self,
        *,
        name: str,
        value: float | str | bool,
        trace_id: str | None = None,
        observation_id: str | None = None,
        session_id: str | None = None,
        dataset_run_id: str | None = None,
        score_id: str | None = None,
        data_type: str | None = None,
        comment: str | None = None,
        config_id: str | None = None,
        metadata: Any = None,
    ) -> None:
        """Score a trace, an observation, a session or a dataset run (sent in the background)."""
        target = ScoreTarget(trace_id, observation_id, session_id, dataset_run_id)
        extra = (score_id, data_type, comment, config_id, metadata)
        send_score(self._pipeline, target, name, value, *extra)

    def score_current_span(self, *, name: str, value: float | str | bool, **extra: Any) -> None:
        observation_id = self.get_current_observation_id()
        trace_id = self.get_current_trace_id()
        if trace_id is None:
            warn_once(logger, "score_current_span() called outside any span: ignored")
            return
        self.create_score(
            name=name, value=value, trace_id=trace_id, observation_id=observation_id, **extra
        )

    def score_current_trace(self, *, name: str, value: float | str | bool, **extra: Any) -> None:
        trace_id = self.get_current_trace_id()
        if trace_id is None:
            warn_once(logger, "score_current_trace() called outside any span: ignored")
            return
        self.create_score(name=name, value=value, trace_id=trace_id, **extra)

    # --- lifecycle ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Export everything ended so far and send queued scores; blocks until done."""
        self._pipeline.flush()

    def shutdown(self) -> None:
        """Flush, stop the background threads; `get_client()` no longer returns this client."""
        _unregister(self)
        self._pipeline.shutdown()

    def auth_check(self) -> bool:
        """True when the server accepts this client's keys (`GET /api/public/projects`)."""
        config = self.config
        headers = auth_headers(config.public_key, config.secret_key)
        try:
            response = call_json("GET", config.projects_url, headers, config.timeout_seconds)
        except Exception as error:
            logger.warning("skein: auth check could not reach %s: %r", config.base_url, error)
            return False
        data = response.body.get("data") if isinstance(response.body, dict) else None
        if 200 <= response.status < 300 and isinstance(data, list) and data:
            return True
        logger.warning("skein: auth check failed: %s answered %s", config.base_url, response.status)
        return False


def _current_span(where: str) -> otel_trace.Span | None:
    span = otel_trace.get_current_span()
    if span.is_recording():
        return span
    warn_once(logger, f"{where}() called outside any span: ignored")
    return None


def _register(client: Skein) -> None:
    with PROCESS.lock:
        PROCESS.default_client = client
        if client.config.public_key:
            PROCESS.clients_by_key[client.config.public_key] = client


def _unregister(client: Skein) -> None:
    with PROCESS.lock:
        if PROCESS.default_client is client:
            PROCESS.default_client = None
        key = client.config.public_key
        if key and PROCESS.clients_by_key.get(key) is client:
            del PROCESS.clients_by_key[key]


def get_client(*, public_key: str | None = None) -> Skein:
    """The default client (or the one for PUBLIC_KEY), created from the environment if needed."""
    client: Skein | None = PROCESS.default_client
    if client is not None and public_key is None:
        return client
    with PROCESS.lock:
        if public_key is not None:
            found: Skein | None = PROCESS.clients_by_key.get(public_key)
            return found or Skein(public_key=public_key)
        return PROCESS.default_client or Skein()
