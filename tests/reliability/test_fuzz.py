"""A short, bounded atheris run of `fuzz_otlp` (the OTLP decode-guard-map path), seeded
with valid protobuf and OTLP/JSON bodies (plain and gzipped) so that its mutations start
from real requests. It fails if any input makes that path raise anything but a SkeinError."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, clean_environment
from tests.otlp_bodies import SpanSpec, json_body, protobuf_body

pytest.importorskip("atheris")

RUNS = 100_000
SECONDS = 120


def seed_corpus(directory: Path) -> None:
    specs = [
        SpanSpec("5eed" * 8, "0000000000000001", attributes={"session.id": "s", "n": 1}),
        SpanSpec("5eed" * 8, "0000000000000002", "0000000000000001",
                 attributes={"gen_ai.usage.input_tokens": 3, "list": [1.5, "x"]}),
    ]  # fmt: skip
    bodies = {
        "protobuf": b"\x00" + protobuf_body(*specs),
        "json": b"\x01" + json_body(*specs),
        "protobuf-gzip": b"\x02" + gzip.compress(protobuf_body(*specs)),
        "json-gzip": b"\x03" + gzip.compress(json_body(*specs)),
    }
    directory.mkdir()
    for name, body in bodies.items():
        (directory / name).write_bytes(body)


def test_a_short_fuzz_run_finds_no_crash(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    seed_corpus(corpus)
    finished = subprocess.run(
        [sys.executable, "-m", "tests.reliability.fuzz_otlp", str(corpus), f"-runs={RUNS}",
         "-max_len=4096", f"-max_total_time={SECONDS // 2}", f"-artifact_prefix={tmp_path}/"],
        cwd=REPO_ROOT,
        env=clean_environment({}),
        capture_output=True,
        text=True,
        timeout=SECONDS,
        check=False,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-4000:]
    assert "Done" in finished.stderr
