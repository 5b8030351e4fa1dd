"""Generated workloads, kept on disk so a rerun with the same spec skips generation.

A workload is one file per client (`client-<n>.bin`: per request a 12-byte header of
protobuf size, gzip size and span count, then the gzip body) and `totals.json`. Generation
runs one process per client. The directory is `bench/.cache/<spec key>/` (gitignored).
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.workload import (
    Batch,
    ClientGenerator,
    Totals,
    WorkloadSpec,
    client_batches,
    plan_sessions,
)

HEADER = struct.Struct("<III")
CACHE_DIR = Path(__file__).resolve().parent / ".cache"


@dataclass(frozen=True)
class Workload:
    spec: WorkloadSpec
    directory: Path
    totals: Totals

    def client_file(self, client: int) -> Path:
        return self.directory / f"client-{client}.bin"

    def batches(self, client: int) -> Iterator[Batch]:
        yield from read_batches(self.client_file(client))

    def all_batches(self) -> Iterator[Batch]:
        for client in range(self.spec.clients):
            yield from self.batches(client)


def prepare(spec: WorkloadSpec, cache_dir: Path = CACHE_DIR) -> Workload:
    """The workload of `spec`, generated now unless a complete copy is cached."""
    directory = cache_dir / spec.key()
    totals_file = directory / "totals.json"
    if totals_file.exists():
        return Workload(spec, directory, Totals(**json.loads(totals_file.read_text())))
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(spec.clients, multiprocessing.cpu_count())) as pool:
        parts = pool.starmap(_write_client, [(spec, c, directory) for c in range(spec.clients)])
    totals = Totals()
    for part in parts:
        totals.add(part)
    totals_file.write_text(json.dumps(asdict(totals)))
    return Workload(spec, directory, totals)


def _write_client(spec: WorkloadSpec, client: int, directory: Path) -> Totals:
    generator = ClientGenerator(spec, client, plan_sessions(spec))
    totals = generator.totals
    with (directory / f"client-{client}.bin").open("wb") as out:
        for batch in client_batches(generator):
            out.write(HEADER.pack(batch.protobuf_bytes, len(batch.body), batch.spans))
            out.write(batch.body)
            totals.batches += 1
            totals.protobuf_bytes += batch.protobuf_bytes
            totals.wire_bytes += len(batch.body)
    return totals


def read_batches(path: Path) -> Iterator[Batch]:
    with path.open("rb") as source:
        while header := source.read(HEADER.size):
            protobuf_bytes, size, spans = HEADER.unpack(header)
            yield Batch(source.read(size), protobuf_bytes, spans)
