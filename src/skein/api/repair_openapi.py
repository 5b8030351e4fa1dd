"""The OpenAPI paths of session repair (`skein.api.repair`), one section of
`skein.api.openapi.build_spec`."""

from __future__ import annotations

from typing import Any

Spec = dict[str, Any]
PREFIX = "/api/public/skein"
TAG = "session repair"
OBJECT: Spec = {"type": "object"}
ERROR = {"$ref": "#/components/schemas/Error"}


def _operation(summary: str, body: bool = False, errors: tuple[str, ...] = ("400", "401")) -> Spec:
    responses: Spec = {"200": _json("OK", OBJECT)}
    for status in errors:
        responses[status] = _json(f"error {status}", ERROR)
    spec: Spec = {"summary": summary, "tags": [TAG], "responses": responses}
    if body:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": OBJECT}},
        }
    return spec


def _jsonl_answer(spec: Spec) -> Spec:
    """The operation answering JSON Lines (one JSON document per line) instead of JSON."""
    ok = {"type": "string", "description": "one JSON object per line"}
    spec["responses"]["200"] = {
        "description": "OK",
        "content": {"application/x-ndjson": {"schema": ok}},
    }
    return spec


def _json(description: str, schema: Spec) -> Spec:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _with_parameters(spec: Spec, *names: tuple[str, str, str]) -> Spec:
    spec["parameters"] = [
        {"name": name, "in": place, "required": place == "path", "description": text,
         "schema": {"type": "string"}}
        for name, place, text in names
    ]  # fmt: skip
    return spec


AUDIT_ID = ("auditId", "path", "the audit entry's id")


def repair_paths() -> Spec:
    """Backfill, session edits, the audit log and undo, session rules."""
    edits = {
        "rename": "Rename (re-key) a session: {sessionId, newSessionId}",
        "merge": "Merge sessions into one: {sessionIds, into}",
        "split": "Split a session at a turn: {sessionId, atTurn, newSessionId}",
        "move": "Move traces to a session (or none): {traceIds, toSessionId}",
    }
    paths: Spec = {
        f"{PREFIX}/sessions/{name}": {"post": _operation(text, True, ("400", "401", "404"))}
        for name, text in edits.items()
    }
    paths[f"{PREFIX}/sessions/backfill"] = {
        "post": _operation(
            "Backfill sessions from a key or by inference (dryRun: counts only)", True
        )
    }
    paths[f"{PREFIX}/audit"] = {
        "get": _with_parameters(
            _operation("The audit log of session edits, newest first"),
            ("sessionId", "query", "only entries that touched this session"),
            ("limit", "query", "entries to return (default 100)"),
        )
    }
    paths[f"{PREFIX}/audit/{{auditId}}"] = {
        "get": _with_parameters(_operation("One audit entry", errors=("401", "404")), AUDIT_ID)
    }
    paths[f"{PREFIX}/audit/{{auditId}}/undo"] = {
        "post": _with_parameters(
            _operation(
                "Undo an audit entry: restore the assignments it replaced",
                errors=("401", "404", "409"),
            ),
            AUDIT_ID,
        )  # fmt: skip
    }
    paths[f"{PREFIX}/archive"] = {
        "get": _with_parameters(
            _jsonl_answer(_operation("Export sessions as a portable archive (JSON Lines)")),
            ("sessionId", "query", "a session to export (repeatable); else the filter"),
            ("userId", "query", "only this user's traces"),
            ("fromTimestamp", "query", "traces started at or after (ISO 8601)"),
            ("toTimestamp", "query", "traces started before (ISO 8601)"),
        ),
        "post": _operation("Import an archive (idempotent)", True),
    }
    paths[f"{PREFIX}/sessions/dataset"] = {
        "get": _with_parameters(
            _jsonl_answer(
                _operation(
                    "Sessions as chat-format JSON Lines (OpenAI messages)",
                    errors=("400", "401", "404"),
                )
            ),
            ("sessionId", "query", "a session (repeatable); default all"),
            ("metadata", "query", "false: leave out each line's metadata"),
        )
    }
    paths[f"{PREFIX}/diagnostics"] = {
        "get": _with_parameters(
            _operation("Why sessions go missing: misplaced keys, child-only ids, lone roots"),
            ("fromTimestamp", "query", "only traces started at or after (ISO 8601)"),
        )
    }
    paths[f"{PREFIX}/import/langfuse"] = {
        "post": _operation("Import Langfuse's trace, trace list or session JSON", True)
    }
    paths[f"{PREFIX}/session-rules"] = {
        "get": _operation("The project's session rules"),
        "put": _operation("Replace the project's session rules", True),
    }
    return paths
