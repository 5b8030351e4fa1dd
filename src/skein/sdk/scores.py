"""Scores: `POST /api/public/scores` with a JSON array, as the Langfuse Python SDK 5.x sends.

Scores are sent by one background thread so the caller never waits on the network;
`flush()` waits for what is queued. Failures are logged once per outage and never raised.
"""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from typing import Any

from skein.sdk.attributes import iso_timestamp
from skein.sdk.config import SkeinConfig
from skein.sdk.public_api import auth_headers, call_json
from skein.sdk.registry import error_once

logger = logging.getLogger(__name__)

DATA_TYPES = ("NUMERIC", "CATEGORICAL", "BOOLEAN")


@dataclass(frozen=True, slots=True)
class ScoreTarget:
    """What a score is about: a trace, an observation of it, a session, a dataset run."""

    trace_id: str | None = None
    observation_id: str | None = None
    session_id: str | None = None
    dataset_run_id: str | None = None


def score_body(
    target: ScoreTarget,
    *,
    name: str,
    value: float | str | bool,
    score_id: str | None = None,
    data_type: str | None = None,
    comment: str | None = None,
    config_id: str | None = None,
    metadata: Any = None,
    environment: str | None = None,
) -> dict[str, Any]:
    """One score as the public API takes it (camelCase; absent fields left out)."""
    body: dict[str, Any] = {
        "id": score_id or uuid.uuid4().hex,
        "traceId": target.trace_id,
        "observationId": target.observation_id,
        "sessionId": target.session_id,
        "datasetRunId": target.dataset_run_id,
        "name": name,
        "value": value,
        "dataType": data_type,
        "comment": comment,
        "configId": config_id,
        "metadata": metadata,
        "environment": environment,
        "timestamp": iso_timestamp(datetime.datetime.now(datetime.UTC)),
    }
    return {key: item for key, item in body.items() if item is not None}


class ScoreSender:
    """Sends score bodies in the background, one request each."""

    def __init__(self, config: SkeinConfig) -> None:
        self._config = config
        self._headers = auth_headers(config.public_key, config.secret_key)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[Future[None]] = set()
        self._failing = False
        self._closed = False

    def send(self, body: dict[str, Any]) -> None:
        with self._lock:
            if self._closed:
                return
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="skein-scores")
            future = self._executor.submit(self._post, body)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def flush(self, timeout_seconds: float | None = None) -> None:
        with self._lock:
            pending = list(self._pending)
        wait_for(pending, timeout=timeout_seconds)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _post(self, body: dict[str, Any]) -> None:
        url = self._config.scores_url
        try:
            response = call_json("POST", url, self._headers, self._config.timeout_seconds, [body])
        except Exception as error:
            self._report(False, f"could not send a score to {url}: {error!r}")
            return
        ok = 200 <= response.status < 300
        self._report(ok, f"the server answered {response.status} to a score sent to {url}")

    def _report(self, ok: bool, problem: str) -> None:
        if ok:
            self._failing = False
        elif not self._failing:
            self._failing = True
            logger.warning("skein: %s; further score failures are not logged", problem)


def checked_data_type(data_type: str | None) -> str | None:
    if data_type is None or data_type in DATA_TYPES:
        return data_type
    error_once(logger, f"unknown score data type {data_type!r}", ValueError(data_type))
    return None
