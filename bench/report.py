"""The benchmark's table: each figure beside the baseline measured in the same run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.ingest import IngestResult

MIB = 2**20
INGEST_TARGET = 10_000
FLOOR_RATIO_TARGET = 0.6
SCALING_TARGET = 0.8
RSS_TARGET_MIB = 500


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: str = ""
    ok: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline


def figures_of(report: dict[str, Any], runs: dict[str, IngestResult]) -> list[Figure]:
    labels = list(runs)
    base_label = labels[0]
    base = runs[base_label]
    base_entry = report["runs"][base_label]
    figures = _ingest_figures(base_label, base, base_entry)
    if len(labels) > 1:
        figures += _scaling_figures(labels[-1], runs[labels[-1]], base)
    last_entry = report["runs"][labels[-1]]
    figures += _query_figures(last_entry.get("queries"))
    figures += _footprint_figures(report["runs"], runs)
    figures += _sdk_figures(report.get("sdk"))
    return figures


def _ingest_figures(label: str, run: IngestResult, entry: dict[str, Any]) -> list[Figure]:
    floor = entry["floor"]["spans_per_second"]
    rate = run.spans_per_second
    return [
        Figure(f"ingest @{_count(label)} spans, end to end", rate, "spans/s",
               "in-process floor", floor,
               f">= {INGEST_TARGET:,} spans/s, ratio >= {FLOOR_RATIO_TARGET}",
               rate >= INGEST_TARGET and rate / floor >= FLOOR_RATIO_TARGET),
        Figure(f"server CPU per span @{_count(label)}", run.cpu_us_per_span, "us",
               "floor CPU (1 thread)", 1e6 / floor),
        Figure(f"request latency p50 / p99 @{_count(label)}", run.latency_p50_s * 1000, "ms",
               "p99", run.latency_p99_s * 1000),
        Figure(f"stored = sent @{_count(label)} (obs/traces/sessions)", float(run.complete),
               "bool", target="all counts equal, no failures", ok=run.complete),
    ]  # fmt: skip


def _scaling_figures(label: str, run: IngestResult, base: IngestResult) -> list[Figure]:
    ratio = run.spans_per_second / base.spans_per_second
    return [
        Figure(f"ingest @{_count(label)} spans, end to end", run.spans_per_second, "spans/s",
               f"ingest @{base.spans:,}", base.spans_per_second, f"ratio >= {SCALING_TARGET}",
               ratio >= SCALING_TARGET),
        Figure(f"stored = sent @{_count(label)} (obs/traces/sessions)", float(run.complete),
               "bool", target="all counts equal, no failures", ok=run.complete),
    ]  # fmt: skip


def _query_figures(queries: dict[str, Any] | None) -> list[Figure]:
    if not queries:
        return []
    timings = queries["timings"]
    health = timings[0]
    scale = queries["scale"]
    at = (
        f"{scale['observations']:,} obs / {scale['traces']:,} traces"
        f" / {scale['sessions']:,} sessions"
    )
    figures = [Figure(f"queries on {at}", 0.0, "", target="(p95 shown; baseline: health p95)")]
    for timing in timings[1:]:
        ok = timing["status"] == 200 and timing["p95_ms"] <= timing["target_ms"]
        figures.append(
            Figure(f"  {timing['name']} (HTTP {timing['status']})", timing["p95_ms"], "ms p95",
                   "GET /api/public/health", health["p95_ms"],
                   f"<= {timing['target_ms']:g} ms", ok)
        )  # fmt: skip
    return figures


def _footprint_figures(entries: dict[str, Any], runs: dict[str, IngestResult]) -> list[Figure]:
    figures = []
    for label, run in runs.items():
        figures.append(
            Figure(f"server peak RSS (VmHWM) @{_count(label)}", run.peak_rss_bytes / MIB, "MiB",
                   "idle RSS", run.idle_rss_bytes / MIB, f"<= {RSS_TARGET_MIB} MiB",
                   run.peak_rss_bytes <= RSS_TARGET_MIB * MIB)
        )  # fmt: skip
    for label, entry in entries.items():
        workload = entry["workload"]
        per_span = entry["database_bytes"]["main"] / workload["spans"]
        protobuf = workload["protobuf_bytes"] / workload["spans"]
        wire = workload["wire_bytes"] / workload["spans"]
        figures += [
            Figure(f"database bytes/span @{_count(label)} (main file)", per_span, "B",
                   "OTLP protobuf bytes/span", protobuf, "ratio <= 1.0", per_span <= protobuf),
            Figure(f"database bytes/span @{_count(label)} vs wire", per_span, "B",
                   "OTLP gzip bytes/span (as sent)", wire),
        ]  # fmt: skip
    return figures


def _sdk_figures(sdk: dict[str, Any] | None) -> list[Figure]:
    if not sdk:
        return []
    return [
        Figure(f"SDK: {pair['skein']}, added", pair["skein_added_us"], "us/call",
               pair["otel"], pair["otel_added_us"])
        for pair in sdk["ratios"]
    ]  # fmt: skip


def print_table(figures: list[Figure], report: dict[str, Any]) -> None:
    machine = report["machine"]
    print(f"\nSkein benchmark — {machine['cpu_model']}, {machine['nproc']} CPUs, "
          f"{machine['memory_gib']} GiB, Python {machine['python']}, SQLite {machine['sqlite']}, "
          f"load average at start {machine['load_average'][0]:.2f}")  # fmt: skip
    header = f"{'figure':58} {'value':>12} {'unit':8} {'baseline':>12}  {'ratio':>6}  target"
    print(header)
    print("-" * len(header))
    for figure in figures:
        print(_row(figure))


def _row(figure: Figure) -> str:
    if not figure.unit:
        return f"{figure.name}  {figure.target}"
    value = _number(figure.value)
    baseline = "" if figure.baseline is None else _number(figure.baseline)
    ratio = "" if figure.ratio is None else f"{figure.ratio:.2f}"
    mark = {True: "ok", False: "MISSED", None: ""}[figure.ok]
    target = f"{figure.target} {mark}".strip()
    against = f"({figure.baseline_name})" if figure.baseline_name else ""
    return (
        f"{figure.name[:58]:58} {value:>12} {figure.unit:8} {baseline:>12}  {ratio:>6}  "
        f"{target}  {against}"
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _count(label: str) -> str:
    return f"{int(label):,}"
