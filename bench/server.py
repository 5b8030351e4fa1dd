"""A real `skein serve` subprocess on 127.0.0.1, for the benchmark to load and query.

It runs with a fresh data directory and fixed keys, from the same Python as the benchmark
(`python -m skein serve`). `peak_rss_bytes` reads the kernel's high-water mark of its
resident memory (`VmHWM` in /proc/<pid>/status), so a short peak between samples is not
missed.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from bench.machine import process_tree
from bench.workload import PUBLIC_KEY, SECRET_KEY

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0


def basic_authorization() -> str:
    token = base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
    return f"Basic {token}"


class Server:
    """`with Server(data_dir) as server:` starts the server and waits until it answers."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "skein.db"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "SKEIN_INIT_PUBLIC_KEY": PUBLIC_KEY,
            "SKEIN_INIT_SECRET_KEY": SECRET_KEY,
            "SKEIN_LOG_LEVEL": "warning",
            **self.extra_env,
        }
        command = [sys.executable, "-m", "skein", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--data-dir", str(self.data_dir)]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def peak_rss_bytes(self) -> int:
        """The sum of the peaks of the server and its ingestion workers (an upper bound:
        their peaks need not coincide)."""
        return sum(_status_kib(pid, "VmHWM") for pid in process_tree(self.pid)) * 1024

    def rss_bytes(self) -> int:
        return sum(_status_kib(pid, "VmRSS") for pid in process_tree(self.pid)) * 1024

    def get(self, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": basic_authorization()}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"skein serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.get("/api/public/health", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"skein serve did not answer within {START_TIMEOUT_S} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")
