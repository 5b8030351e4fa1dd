"""Factories for store tests: observations and batches with plain defaults."""

from __future__ import annotations

from typing import Any

from skein.records import IngestWarning, MappedBatch, Observation, TraceAttributes

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"
PROJECT_ID = "project-a"
START_NS = 1_700_000_000_000_000_000


def make_observation(**overrides: Any) -> Observation:
    """A span of TRACE_ID with no trace attributes; override any field.

    It is a root unless given a `parent_id` (or an explicit `is_root`). `trace` may be given
    as a TraceAttributes or as a dict of its fields.
    """
    trace = overrides.pop("trace", TraceAttributes())
    if isinstance(trace, dict):
        trace = TraceAttributes(**trace)
    fields: dict[str, Any] = {
        "id": SPAN_ID,
        "trace_id": TRACE_ID,
        "parent_id": None,
        "is_root": overrides.get("parent_id") is None,
        "name": "span",
        "type": "SPAN",
        "start_ns": START_NS,
        "end_ns": START_NS + 1_000_000,
    }
    fields.update(overrides)
    return Observation(**fields, trace=trace)


def make_full_observation(**overrides: Any) -> Observation:
    """An observation with every field set to a non-default value."""
    fields: dict[str, Any] = {
        "id": "1111111111111111",
        "parent_id": "2222222222222222",
        "is_root": True,
        "name": "chat completion ✓",
        "type": "GENERATION",
        "start_ns": START_NS + 7,
        "end_ns": START_NS + 9_000_000,
        "level": "WARNING",
        "status_message": "rate limited, retried",
        "input": '[{"role": "user", "content": "héllo"}]' + "x" * 5000,
        "output": '{"role": "assistant", "content": "hi"}',
        "metadata": {"nested": {"list": [1, 2.5, None, True], "text": "ü"}, "n": 3},
        "model": "gpt-4o-mini",
        "model_parameters": '{"temperature": 0.2}',
        "usage": {"input": 10, "output": 20, "total": 30, "cache_read": 2.5},
        "cost": {"input": 0.001, "output": 0.002, "total": 0.003},
        "input_tokens": 10,
        "output_tokens": 20,
        "total_tokens": 30,
        "total_cost": 0.003,
        "completion_start_ns": START_NS + 500,
        "environment": "production",
        "release": "v1.2.3",
        "version": "7",
        "prompt_name": "greeting",
        "prompt_version": 4,
        "cost_source": "price:openai-gpt-4o-mini",
        "trace": TraceAttributes(
            session_id="session-1",
            session_source="langfuse.session.id",
            user_id="user-1",
            user_source="user.id",
            name="conversation turn",
            tags=("alpha", "beta"),
            metadata={"k": "v", "deep": {"x": [1, 2]}},
            public=False,
            input='{"question": "?"}',
            output='{"answer": "!"}',
        ),
    }
    fields.update(overrides)
    return make_observation(**fields)


def make_warning(**overrides: Any) -> IngestWarning:
    fields: dict[str, Any] = {
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
        "code": "session_id_too_long",
        "message": "session id longer than 200 characters ignored",
    }
    fields.update(overrides)
    return IngestWarning(**fields)


def make_batch(
    *observations: Observation,
    project_id: str = PROJECT_ID,
    warnings: tuple[IngestWarning, ...] = (),
) -> MappedBatch:
    return MappedBatch(project_id=project_id, observations=observations, warnings=warnings)
