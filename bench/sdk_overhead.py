"""Per-call cost of `@observe` on a trivial function, next to a bare OpenTelemetry span.

    .venv/bin/python bench/sdk_overhead.py [--calls 20000] [--rounds 5] [--json]

Both sides run in the same process, each with its own `TracerProvider` and a
`BatchSpanProcessor` exporting to a no-op exporter (the queue is made large enough that no
span is dropped, and it is drained between rounds, outside the timing). Each variant's
figure is the best round's mean time per call. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

QUEUE_SIZE = 1_000_000


class NullExporter(SpanExporter):
    """Accepts every batch and drops it."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


@dataclass(frozen=True)
class Variant:
    name: str
    call: Callable[[], object]
    drain: Callable[[], object]


@dataclass(frozen=True)
class Result:
    name: str
    seconds_per_call: float


def trivial(value: int = 1) -> int:
    return value + 1


def bare_otel_variants() -> list[Variant]:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(NullExporter()))
    tracer = provider.get_tracer("bench")

    def bare_span() -> object:
        with tracer.start_as_current_span("trivial"):
            return trivial()

    root = tracer.start_span("root")
    from opentelemetry import trace

    root_context = trace.set_span_in_context(root)

    def bare_child() -> object:
        with tracer.start_as_current_span("trivial", context=root_context):
            return trivial()

    return [
        Variant("bare OTel span (root)", bare_span, provider.force_flush),
        Variant("bare OTel span (child of open root)", bare_child, provider.force_flush),
    ]


def skein_variants() -> list[Variant]:
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    from skein import Skein, observe

    client = Skein(span_exporter=NullExporter(), public_key="pk-bench", secret_key="sk-bench")
    observed = observe()(trivial)
    quiet = observe(capture_input=False, capture_output=False)(trivial)
    root = client.start_span("root")
    root_context = trace.set_span_in_context(root.otel_span)

    def observed_child() -> object:
        token = otel_context.attach(root_context)
        try:
            return observed()
        finally:
            otel_context.detach(token)

    return [
        Variant("@observe() (root, input/output captured)", observed, client.flush),
        Variant("@observe(capture off) (root)", quiet, client.flush),
        Variant("@observe() (child of open root)", observed_child, client.flush),
    ]


def measure(variant: Variant, calls: int, rounds: int) -> Result:
    best = float("inf")
    call = variant.call
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - started) / calls)
        variant.drain()
    return Result(variant.name, best)


def print_table(results: list[Result], baseline: float) -> None:
    width = max(len(result.name) for result in results)
    print(f"{'variant'.ljust(width)}  µs/call  added µs/call")
    for result in results:
        per_call = result.seconds_per_call * 1e6
        added = (result.seconds_per_call - baseline) * 1e6
        print(f"{result.name.ljust(width)}  {per_call:7.2f}  {added:13.2f}")


PAIRS = (
    ("@observe() (root, input/output captured)", "bare OTel span (root)"),
    ("@observe(capture off) (root)", "bare OTel span (root)"),
    ("@observe() (child of open root)", "bare OTel span (child of open root)"),
)


def measure_all(calls: int, rounds: int) -> list[Result]:
    os.environ["OTEL_BSP_MAX_QUEUE_SIZE"] = str(QUEUE_SIZE)  # no dropped spans while timing
    plain = Variant("plain call (no tracing)", trivial, lambda: None)
    variants = [plain, *bare_otel_variants(), *skein_variants()]
    return [measure(variant, calls, rounds) for variant in variants]


def summary(results: list[Result]) -> dict[str, object]:
    """µs per call of every variant, and each @observe variant's added cost over its OTel twin."""
    baseline = results[0].seconds_per_call
    added = {result.name: result.seconds_per_call - baseline for result in results}
    return {
        "us_per_call": {result.name: result.seconds_per_call * 1e6 for result in results},
        "ratios": [
            {"skein": skein, "otel": otel, "skein_added_us": added[skein] * 1e6,
             "otel_added_us": added[otel] * 1e6, "ratio": added[skein] / added[otel]}
            for skein, otel in PAIRS
        ],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    results = measure_all(options.calls, options.rounds)
    if options.json:
        print(json.dumps(summary(results)))
        return
    print_table(results, results[0].seconds_per_call)
    for pair in summary(results)["ratios"]:  # type: ignore[attr-defined]
        print(f"ratio {pair['skein']} / {pair['otel']}: {pair['ratio']:.2f}x")


if __name__ == "__main__":
    main()
