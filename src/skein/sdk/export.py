"""Span export with errors reported once per outage, not once per batch.

OpenTelemetry's OTLP exporter logs every failed batch (and every retry). `ReportingExporter`
wraps any `SpanExporter`: while its export thread is inside the wrapped exporter, the OTLP
exporter's log records are captured instead of printed, and one warning is logged when exports
start failing (with the first captured reason) and one info line when they recover.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from skein.sdk.registry import error_once

logger = logging.getLogger(__name__)

# The loggers OpenTelemetry's OTLP/HTTP span export writes to.
OTLP_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
)


class ExportLogCapture(logging.Filter):
    """Swallows records logged by threads that are inside a `ReportingExporter.export`."""

    def __init__(self) -> None:
        super().__init__()
        self._threads: set[int] = set()
        self.first_message: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if threading.get_ident() not in self._threads:
            return True
        if self.first_message is None:
            self.first_message = record.getMessage()
        return False

    def enter(self) -> None:
        self._threads.add(threading.get_ident())

    def leave(self) -> None:
        self._threads.discard(threading.get_ident())


class ReportingExporter(SpanExporter):
    """Exports through INNER; logs failures once per outage, never raises."""

    def __init__(self, inner: SpanExporter, destination: str) -> None:
        self._inner = inner
        self._destination = destination
        self._capture = ExportLogCapture()
        self._failing = False
        for name in OTLP_LOGGERS:
            logging.getLogger(name).addFilter(self._capture)

    @property
    def inner(self) -> SpanExporter:
        return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._capture.enter()
        try:
            result = self._inner.export(spans)
        except Exception as error:
            error_once(logger, "span exporter raised", error)
            result = SpanExportResult.FAILURE
        finally:
            self._capture.leave()
        self._report(result, len(spans))
        return result

    def _report(self, result: SpanExportResult, count: int) -> None:
        if result is SpanExportResult.SUCCESS:
            if self._failing:
                logger.info("skein: span export to %s works again", self._destination)
            self._failing = False
        elif not self._failing:
            self._failing = True
            reason = self._capture.first_message or "the exporter reported a failure"
            logger.warning(
                "skein: could not export %d span(s) to %s (%s); further failures are not "
                "logged until an export succeeds",
                count,
                self._destination,
                reason,
            )
        self._capture.first_message = None

    def shutdown(self) -> None:
        try:
            self._inner.shutdown()
        finally:
            for name in OTLP_LOGGERS:
                logging.getLogger(name).removeFilter(self._capture)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
