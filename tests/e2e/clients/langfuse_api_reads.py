"""Read a session back through the `api.*` client of langfuse 3.x or 4.x.

    python langfuse_api_reads.py TRACE_ID SESSION_ID OBSERVATION_ID TAG

Every call parses the answer into the SDK's own pydantic models (a missing required field
raises). Prints one JSON line: what each call returned, reduced to ids and a few values.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from langfuse import Langfuse


def trace_reads(api: Any, trace_id: str, session_id: str, tag: str) -> dict[str, Any]:
    trace = api.trace.get(trace_id)
    in_session = api.trace.list(session_id=session_id, limit=10)
    tagged = api.trace.list(tags=[tag], limit=2, page=1, order_by="timestamp.asc")
    since = datetime.now(UTC) - timedelta(days=3650)
    recent = api.trace.list(from_timestamp=since, limit=100)
    return {
        "trace": {
            "id": trace.id,
            "sessionId": trace.session_id,
            "userId": trace.user_id,
            "tags": trace.tags,
            "input": trace.input,
            "latency": trace.latency,
            "totalCost": trace.total_cost,
            "htmlPath": trace.html_path,
            "observations": [o.id for o in trace.observations],
            "types": [o.type for o in trace.observations],
            "usageTotals": [o.usage_details.get("total") for o in trace.observations],
        },
        "trace_list": {
            "ids": [t.id for t in in_session.data],
            "totalItems": in_session.meta.total_items,
            "observations": [t.observations for t in in_session.data],
        },
        "tagged": {"ids": [t.id for t in tagged.data], "totalPages": tagged.meta.total_pages},
        "recent_count": len(recent.data),
    }


def session_reads(api: Any, session_id: str) -> dict[str, Any]:
    session = api.sessions.get(session_id)
    listed = api.sessions.list(limit=5)
    return {
        "session": {
            "id": session.id,
            "environment": session.environment,
            "traces": [t.id for t in session.traces],
        },
        "sessions": {"ids": [s.id for s in listed.data], "totalItems": listed.meta.total_items},
    }


def observation_reads(api: Any, trace_id: str, observation_id: str) -> dict[str, Any]:
    legacy = getattr(api, "legacy", None)
    v1 = legacy.observations_v1 if legacy is not None else api.observations
    v2 = api.observations if legacy is not None else api.observations_v_2
    listed = v1.get_many(trace_id=trace_id)
    one = v1.get(observation_id)
    first = v2.get_many(trace_id=trace_id, fields="core,basic,usage", limit=1)
    rest = v2.get_many(trace_id=trace_id, fields="core,basic,usage", cursor=first.meta.cursor)
    return {
        "observations_v1": sorted(o.id for o in listed.data),
        "observation": {"id": one.id, "traceId": one.trace_id, "type": one.type},
        "observations_v2": sorted(_id(o) for o in [*first.data, *rest.data]),
        "v2_cursor_after_last": rest.meta.cursor,
    }


def _id(observation: Any) -> str:
    """3.x types the v2 list's items as plain dicts; 4.x as ObservationV2 models."""
    return str(observation["id"] if isinstance(observation, dict) else observation.id)


def main() -> None:
    trace_id, session_id, observation_id, tag = sys.argv[1:5]
    api = Langfuse().api
    report: dict[str, Any] = {"version": importlib.metadata.version("langfuse")}
    report.update(trace_reads(api, trace_id, session_id, tag))
    report.update(session_reads(api, session_id))
    report.update(observation_reads(api, trace_id, observation_id))
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
