"""One client's OpenTelemetry pipeline: tracer provider → trace-attribute processor → batch
processor → exporter (OTLP/HTTP protobuf to the server, or whatever exporter the caller gives).

The provider is the client's own, not the global one, so creating a client never changes how
other OpenTelemetry instrumentation in the process exports. Spans still nest through the
shared OpenTelemetry context, whoever created them.
"""

from __future__ import annotations

import atexit
import logging
import threading

from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from skein import __version__
from skein.sdk import attributes as keys
from skein.sdk.attributes import AttributeMap
from skein.sdk.config import SkeinConfig
from skein.sdk.export import ReportingExporter
from skein.sdk.processor import HoldLimits, TraceAttributeProcessor
from skein.sdk.public_api import auth_headers
from skein.sdk.registry import error_once
from skein.sdk.scores import ScoreSender

logger = logging.getLogger(__name__)

SCOPE_NAME = "skein-sdk"
FLUSH_TIMEOUT_MILLIS = 30_000
DEFAULT_QUEUE_SIZE = 2048  # OpenTelemetry's default; a batch may not be larger than the queue


class Pipeline:
    """The tracer, processors, exporter and score sender behind one `Skein` client."""

    def __init__(
        self,
        config: SkeinConfig,
        span_exporter: SpanExporter | None = None,
        hold_limits: HoldLimits | None = None,
    ) -> None:
        self.config = config
        self.scores = ScoreSender(config)
        exporter = ReportingExporter(span_exporter or otlp_exporter(config), config.traces_url)
        self.processor = TraceAttributeProcessor(
            batch_processor(exporter, config), hold_limits, span_defaults(config)
        )
        self.provider = TracerProvider(resource=resource(config), shutdown_on_exit=False)
        self.provider.add_span_processor(self.processor)
        scope_attributes = {"public_key": config.public_key} if config.public_key else None
        self.tracer = self.provider.get_tracer(SCOPE_NAME, __version__, attributes=scope_attributes)
        self._shutdown_lock = threading.Lock()
        self._is_shut_down = False
        atexit.register(self.shutdown)

    def update_trace(self, span: otel_trace.Span, values: AttributeMap) -> None:
        """Set trace-level VALUES on SPAN and on every span of its trace."""
        if not values or not span.is_recording():
            return
        span.set_attributes(values)
        self.processor.update_trace(span.get_span_context().trace_id, values)

    def flush(self) -> None:
        try:
            self.provider.force_flush(FLUSH_TIMEOUT_MILLIS)
            self.scores.flush(FLUSH_TIMEOUT_MILLIS / 1000)
        except Exception as error:
            error_once(logger, "flush failed", error)

    def shutdown(self) -> None:
        with self._shutdown_lock:
            if self._is_shut_down:
                return
            self._is_shut_down = True
        atexit.unregister(self.shutdown)
        try:
            self.provider.shutdown()
            self.scores.shutdown()
        except Exception as error:
            error_once(logger, "shutdown failed", error)

    @property
    def is_shut_down(self) -> bool:
        return self._is_shut_down


def otlp_exporter(config: SkeinConfig) -> OTLPSpanExporter:
    """OTLP/HTTP protobuf to `{base}/api/public/otel/v1/traces`, gzip, HTTP Basic auth."""
    return OTLPSpanExporter(
        endpoint=config.traces_url,
        headers=auth_headers(config.public_key, config.secret_key),
        timeout=config.timeout_seconds,
        compression=Compression.Gzip,
    )


def batch_processor(exporter: SpanExporter, config: SkeinConfig) -> BatchSpanProcessor:
    delay, batch_size = config.flush_interval_seconds, config.flush_at
    return BatchSpanProcessor(
        exporter,
        max_queue_size=None if batch_size is None else max(DEFAULT_QUEUE_SIZE, batch_size),
        max_export_batch_size=batch_size,
        schedule_delay_millis=None if delay is None else delay * 1000,
    )


def resource(config: SkeinConfig) -> Resource:
    found: dict[str, str] = {}
    if config.environment:
        found[keys.ENVIRONMENT] = config.environment
    if config.release:
        found[keys.RELEASE] = config.release
    return Resource.create(found)


def span_defaults(config: SkeinConfig) -> AttributeMap:
    """Attributes every span of this client gets unless it has its own."""
    found: AttributeMap = {}
    if config.environment:
        found[keys.ENVIRONMENT] = config.environment
    if config.release:
        found[keys.RELEASE] = config.release
    return found
