from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skein.repair.langfuse_import import LangfuseImportError, import_langfuse
from tests.repair.factories import open_test_store, snapshot
from tests.store.factories import PROJECT_ID


def langfuse_trace(index: int, session_id: str | None = None) -> dict[str, Any]:
    """A trace as Langfuse's GET /api/public/traces/{id} returns it."""
    trace_id = f"lf-trace-{index}"
    start = f"2025-01-01T10:0{index}:00.000Z"
    return {
        "id": trace_id, "timestamp": start, "name": "chat", "sessionId": session_id,
        "userId": "user-1", "metadata": {"app": "x"}, "tags": ["imported"], "public": False,
        "environment": "default", "input": "hi", "output": "hello", "htmlPath": "/x",
        "latency": 1.0, "totalCost": 0.002,
        "observations": [
            {"id": f"obs-{index}-a", "traceId": trace_id, "type": "SPAN", "name": "root",
             "startTime": start, "endTime": f"2025-01-01T10:0{index}:01.000Z",
             "parentObservationId": None, "level": "DEFAULT", "metadata": {}},
            {"id": f"obs-{index}-b", "traceId": trace_id, "type": "GENERATION", "name": "llm",
             "startTime": start, "endTime": f"2025-01-01T10:0{index}:01.000Z",
             "parentObservationId": f"obs-{index}-a", "model": "gpt-4o-mini",
             "usageDetails": {"input": 10, "output": 5, "total": 15},
             "costDetails": {"total": 0.001}, "input": [{"role": "user", "content": "hi"}],
             "output": {"role": "assistant", "content": "hello"}, "level": "DEFAULT"},
        ],
        "scores": [{"id": f"score-{index}", "traceId": trace_id, "name": "ok", "value": 1,
                    "dataType": "NUMERIC", "source": "API", "timestamp": start}],
    }  # fmt: skip


def test_a_langfuse_session_imports_with_its_session_intact(tmp_path: Path) -> None:
    store = open_test_store(tmp_path)
    try:
        traces = [langfuse_trace(1), langfuse_trace(2)]
        for trace in traces:  # the session shape lists traces without observations
            trace.pop("scores")
        session = {"id": "lf-session", "createdAt": "2025-01-01T10:00:00Z", "traces": traces}
        done = import_langfuse(store, PROJECT_ID, session)
        assert (done.traces, done.observations, done.failed) == (2, 4, ())
        imported = store.get_session(PROJECT_ID, "lf-session")
        assert imported is not None and imported.trace_count == 2
        assert imported.total_tokens == 30 and imported.total_cost == pytest.approx(0.002)
        before = snapshot(store)
        import_langfuse(store, PROJECT_ID, session)
        assert snapshot(store) == before
    finally:
        store.close()


def test_trace_and_list_shapes(tmp_path: Path) -> None:
    store = open_test_store(tmp_path)
    try:
        done = import_langfuse(store, PROJECT_ID, langfuse_trace(3, session_id="s3"))
        assert done.scores == 1 and store.get_session(PROJECT_ID, "s3") is not None
        listed = {"data": [{**langfuse_trace(4, "s4"), "observations": ["obs-4-a"]}], "meta": {}}
        assert import_langfuse(store, PROJECT_ID, listed).observations == 0
        assert store.get_trace(PROJECT_ID, "lf-trace-4").session_id == "s4"  # type: ignore[union-attr]
        with pytest.raises(LangfuseImportError):
            import_langfuse(store, PROJECT_ID, {"unexpected": True})
    finally:
        store.close()
