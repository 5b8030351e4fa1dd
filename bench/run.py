"""Skein's benchmark: ingest, size scaling, queries, footprint and SDK overhead.

    .venv/bin/python -m bench              # 100,000 spans (about 3 minutes)
    .venv/bin/python -m bench --quick      # 20,000 spans, fewer repeats (about a minute)
    .venv/bin/python -m bench --large      # also 1,000,000 spans; queries on that database
    .venv/bin/python -m bench --spans 50000 --seed 3 --repeat 50

Prints a table and writes every figure, with the machine and versions, to
`bench/results/<UTC timestamp>.json`. Workloads are generated once per spec and cached
under `bench/.cache/`. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import cache
from bench.floor import measure_floor
from bench.ingest import IngestResult, database_bytes, page_usage, run_ingest
from bench.machine import describe
from bench.queries import QueryReport, measure_queries
from bench.report import Figure, print_table
from bench.server import Server
from bench.workload import WorkloadSpec

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LARGE_SPANS = 1_000_000
QUICK_SPANS = 20_000
INGEST_TARGET = 10_000
FLOOR_RATIO_TARGET = 0.6
RSS_TARGET_BYTES = 500 * 2**20


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, help="spans in the base run (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="a small run: 20,000 spans")
    parser.add_argument("--large", action="store_true", help="also ingest 1,000,000 spans")
    parser.add_argument("--large-spans", type=int, default=LARGE_SPANS, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=8, help="workload seed (default 8)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--repeat", type=int, help="requests per query figure (default 30)")
    parser.add_argument(
        "--ingest-processes",
        type=int,
        help="the server's SKEIN_INGEST_PROCESSES (default: the server's own default)",
    )
    parser.add_argument("--no-sdk", action="store_true", help="skip the SDK overhead figure")
    parser.add_argument("--output", type=Path, help="JSON file to write (default bench/results/)")
    parser.add_argument(
        "--keep", type=Path, help="keep the databases in this directory (default: deleted)"
    )
    options = parser.parse_args(argv)
    options.spans = options.spans or (QUICK_SPANS if options.quick else 100_000)
    options.repeat = options.repeat or (10 if options.quick else 30)
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    report: dict[str, Any] = {"started": _utc_stamp(), "machine": describe(), "options": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(options).items()}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="skein-bench-") as scratch:
        runs = _ingest_runs(options, options.keep or Path(scratch), report)
    if not options.no_sdk:
        report["sdk"] = _sdk_overhead(options.quick)
    report["machine"]["load_average_end"] = describe()["load_average"]
    figures = _figures(report, runs)
    report["figures"] = [asdict(figure) for figure in figures]
    print_table(figures, report)
    path = _write(report, options.output)
    print(f"\nwrote {path}")
    return 0 if all(run.complete for run in runs.values()) else 1


def _ingest_runs(
    options: argparse.Namespace, scratch: Path, report: dict[str, Any]
) -> dict[str, IngestResult]:
    sizes = [options.spans] + ([options.large_spans] if options.large else [])
    runs: dict[str, IngestResult] = {}
    report["runs"] = {}
    for index, spans in enumerate(sizes):
        spec = WorkloadSpec(spans=spans, seed=options.seed, clients=options.clients)
        last = index == len(sizes) - 1
        label = f"{spans}"
        runs[label] = _one_size(spec, scratch / label, report["runs"], label, first=index == 0,
                                queries_repeat=options.repeat if last else 0,
                                server_env=_server_env(options))  # fmt: skip
    return runs


def _one_size(
    spec: WorkloadSpec,
    directory: Path,
    reports: dict[str, Any],
    label: str,
    *,
    first: bool,
    queries_repeat: int,
    server_env: dict[str, str],
) -> IngestResult:
    started = time.perf_counter()
    workload = cache.prepare(spec)
    entry: dict[str, Any] = {"spec": asdict(spec), "workload": asdict(workload.totals)}
    entry["workload_seconds"] = time.perf_counter() - started
    _progress(f"{label} spans: workload ready ({entry['workload_seconds']:.0f} s)")
    if first:
        floor = measure_floor(list(workload.all_batches()), _fresh(directory / "floor"))
        entry["floor"] = {**asdict(floor), "spans_per_second": floor.spans_per_second}
        _progress(f"{label} spans: floor {floor.spans_per_second:,.0f} spans/s")
    with Server(_fresh(directory / "server"), server_env) as server:
        result = run_ingest(workload, server)
        entry["ingest"] = {**asdict(result), "spans_per_second": result.spans_per_second,
                           "cpu_us_per_span": result.cpu_us_per_span,
                           "complete": result.complete}  # fmt: skip
        _progress(f"{label} spans: ingest {result.spans_per_second:,.0f} spans/s")
        if queries_repeat:
            queries = measure_queries(server, queries_repeat)
            entry["queries"] = _queries_json(queries)
            _progress(f"{label} spans: queries done")
    entry["database_bytes"] = database_bytes(server.data_dir)
    entry["pages"] = page_usage(server.database_path)
    reports[label] = entry
    return result


def _server_env(options: argparse.Namespace) -> dict[str, str]:
    if options.ingest_processes is None:
        return {}
    return {"SKEIN_INGEST_PROCESSES": str(options.ingest_processes)}


def _queries_json(queries: QueryReport) -> dict[str, Any]:
    return {"scale": queries.scale, "timings": [asdict(t) for t in queries.timings]}


def _sdk_overhead(quick: bool) -> dict[str, Any]:
    script = Path(__file__).resolve().parent / "sdk_overhead.py"
    calls = ["--calls", "5000", "--rounds", "3"] if quick else []
    output = subprocess.run(
        [sys.executable, str(script), "--json", *calls], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(output)
    return result


def _figures(report: dict[str, Any], runs: dict[str, IngestResult]) -> list[Figure]:
    from bench.report import figures_of

    return figures_of(report, runs)


def _fresh(directory: Path) -> Path:
    """An empty directory (what a kept earlier run left there is removed)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def _write(report: dict[str, Any], output: Path | None) -> Path:
    path = output or RESULTS_DIR / f"{report['started']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def _utc_stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
