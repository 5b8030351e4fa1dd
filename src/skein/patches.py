"""Rebuilding observations and traces from Langfuse ingestion events, whatever their order.

Every `*-create` / `*-update` event of `POST /api/public/ingestion` is kept as an
`EventPatch`: the values it set. An observation (or a trace's own statement) is the merge of
all its patches, so it is a pure function of the *set* of events received — the same
whatever order or requests they came in, and unchanged by a re-sent event:

1. Patches apply in (timestamp, create before update, event id) order.
2. A later value replaces an earlier one; a value the event did not send (absent or null)
   leaves it as it was.
3. Some values are fixed by the first patch that sets them: an observation's `trace_id`,
   `start_ns` and `environment`; a trace's `timestamp_ns` and `environment` (Langfuse's
   immutable fields).
4. `metadata` objects merge key by key, recursively; trace `tags` are the sorted union.
5. An observation's type is its latest create's, else its latest update's.

A trace's statement becomes a carrier row (TRACE_CARRIER_TYPE, id TRACE_CARRIER_ID) that
`fold_trace` ranks above every span, so a `trace-create`'s values win over span-carried ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from skein.ingest.usage import token_counts, total_cost
from skein.records import (
    TRACE_CARRIER_ID,
    TRACE_CARRIER_TYPE,
    EventPatch,
    Observation,
    TraceAttributes,
)

OBSERVATION = "observation"
TRACE = "trace"
FIRST_WINS = {
    OBSERVATION: ("trace_id", "start_ns", "environment"),
    TRACE: ("timestamp_ns", "environment"),
}
MERGED_OBJECTS = ("metadata",)
UNIONED_LISTS = ("tags",)
# Observation fields whose merged value passes through when it has one of these types.
PASSED_FIELDS: Mapping[str, tuple[type, ...]] = {
    "completion_start_ns": (int,),
    "level": (str,),
    "status_message": (str,),
    "version": (str,),
    "input": (str,),
    "output": (str,),
    "metadata": (dict,),
    "model": (str,),
    "model_parameters": (str,),
    "usage": (dict,),
    "cost": (dict,),
    "prompt_name": (str,),
    "prompt_version": (int,),
}


def ordered(patches: Iterable[EventPatch]) -> list[EventPatch]:
    """Patches in the order they apply."""
    return sorted(patches, key=lambda p: (p.timestamp_ns, p.is_update, p.event_id))


def merge_values(patches: Sequence[EventPatch], kind: str) -> dict[str, Any]:
    """The values of all patches of one target merged by the rules above."""
    merged: dict[str, Any] = {}
    fixed = FIRST_WINS[kind]
    for patch in ordered(patches):
        for key, value in patch.values.items():
            if value is None or (key in fixed and merged.get(key) is not None):
                continue
            merged[key] = _combined(key, merged.get(key), value)
    return merged


def _combined(key: str, old: Any, new: Any) -> Any:
    if key in MERGED_OBJECTS and isinstance(old, dict) and isinstance(new, dict):
        return deep_merge(old, new)
    if key in UNIONED_LISTS and isinstance(old, list) and isinstance(new, list):
        return sorted(set(old) | set(new))
    return new


def deep_merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """`new` over `old`, objects merged key by key at every depth."""
    merged = dict(old)
    for key, value in new.items():
        before = merged.get(key)
        if isinstance(before, dict) and isinstance(value, dict):
            merged[key] = deep_merge(before, value)
        else:
            merged[key] = value
    return merged


# ── Observations ──────────────────────────────────────────────────────────────────────


def merge_observation(observation_id: str, patches: Sequence[EventPatch]) -> Observation:
    """The observation its patches (at least one) describe.

    Without a trace id it is its own trace (Langfuse's wrapper trace for SDKs before 2.0);
    without a start time it starts at its earliest event; without an end it ends at its start.
    """
    values = merge_values(patches, OBSERVATION)
    fields: dict[str, Any] = {
        k: v for k, v in values.items() if isinstance(v, PASSED_FIELDS.get(k, ()))
    }
    start_ns = _int(values.get("start_ns")) or min(p.timestamp_ns for p in patches)
    parent_id = _text(values.get("parent_id"))
    usage, cost = fields.get("usage", {}), fields.get("cost", {})
    input_tokens, output_tokens, total_tokens = token_counts(usage)
    return Observation(
        id=observation_id,
        trace_id=_text(values.get("trace_id")) or observation_id,
        parent_id=parent_id,
        is_root=parent_id is None,
        name=_text(values.get("name")) or "",
        type=observation_type(patches),
        start_ns=start_ns,
        end_ns=max(start_ns, _int(values.get("end_ns")) or start_ns),
        environment=_text(values.get("environment")) or "default",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        total_cost=total_cost(cost),
        cost_source="sdk" if cost else None,
        **fields,
    )


def observation_type(patches: Sequence[EventPatch]) -> str:
    """The latest create's type, else the latest update's, else SPAN."""
    creates = [p for p in ordered(patches) if not p.is_update and p.values.get("type")]
    updates = [p for p in ordered(patches) if p.is_update and p.values.get("type")]
    chosen = creates or updates
    return str(chosen[-1].values["type"]) if chosen else "SPAN"


# ── Traces ────────────────────────────────────────────────────────────────────────────


def merge_trace(trace_id: str, patches: Sequence[EventPatch]) -> Observation:
    """The carrier row of a trace's own statement (its `trace-create` events, at least one)."""
    values = merge_values(patches, TRACE)
    timestamp_ns = _int(values.get("timestamp_ns")) or min(p.timestamp_ns for p in patches)
    session_id = _text(values.get("session_id"))
    user_id = _text(values.get("user_id"))
    trace = TraceAttributes(
        session_id=session_id,
        session_source=_text(values.get("session_source")) if session_id else None,
        user_id=user_id,
        user_source=_text(values.get("user_source")) if user_id else None,
        name=_text(values.get("name")),
        tags=tuple(str(tag) for tag in values.get("tags") or ()),
        metadata=_object(values.get("metadata")),
        public=values["public"] if isinstance(values.get("public"), bool) else None,
        input=_text(values.get("input")),
        output=_text(values.get("output")),
    )
    return Observation(
        id=TRACE_CARRIER_ID,
        trace_id=trace_id,
        parent_id=None,
        is_root=True,
        name=trace.name or "",
        type=TRACE_CARRIER_TYPE,
        start_ns=timestamp_ns,
        end_ns=timestamp_ns,
        environment=_text(values.get("environment")) or "default",
        release=_text(values.get("release")),
        version=_text(values.get("version")),
        trace=trace,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
