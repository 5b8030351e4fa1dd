"""The SDK's process-wide state, kept in one place.

The API users expect is process-wide: `get_client()` returns the same client from anywhere,
and a warning about a bad session id is given once per process, not once per span. That state
lives in the single `ProcessState` instance below; nothing else in the SDK is module state.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

MAX_REMEMBERED_WARNINGS = 1000


class ProcessState:
    """The default client, clients by public key, and the warnings already given."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.default_client: Any = None
        self.clients_by_key: dict[str, Any] = {}
        self._warned: set[str] = set()

    def first_time(self, message: str) -> bool:
        """True the first time MESSAGE is seen (thread-safe, bounded)."""
        with self.lock:
            if message in self._warned or len(self._warned) >= MAX_REMEMBERED_WARNINGS:
                return False
            self._warned.add(message)
            return True

    def forget_warnings(self) -> None:
        with self.lock:
            self._warned.clear()


PROCESS = ProcessState()


def warn_once(logger: logging.Logger, message: str) -> None:
    """Log MESSAGE as a warning the first time it occurs in this process."""
    if PROCESS.first_time(message):
        logger.warning("skein: %s", message)


def error_once(logger: logging.Logger, message: str, error: BaseException) -> None:
    """Log an SDK failure once per distinct message, with the traceback the first time."""
    if PROCESS.first_time(message):
        logger.warning("skein: %s: %r", message, error, exc_info=error)
