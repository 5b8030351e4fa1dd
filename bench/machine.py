"""What the benchmark ran on: CPU, memory, load, and the versions that matter."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path

PACKAGES = ("skein", "uvicorn", "starlette", "h11", "protobuf", "opentelemetry-sdk")


def describe() -> dict[str, object]:
    return {
        "cpu_model": _cpu_model(),
        "nproc": os.cpu_count(),
        "memory_gib": round(_memory_kib() / 2**20, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _memory_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and all its living descendants (the server's
    ingestion workers) have used so far (/proc/<pid>/stat)."""
    ticks = sum(_cpu_ticks(_stat_fields(p)) for p in process_tree(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and its living descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])  # ppid (field 4)
            except (OSError, IndexError):
                continue  # gone meanwhile
            children.setdefault(parent, []).append(int(entry.name))
    tree, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        tree.append(current)
        waiting.extend(children.get(current, []))
    return tree


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: field 3 (state) first."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
