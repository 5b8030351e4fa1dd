"""Session repair over HTTP, under Skein's own prefix `/api/public/skein/`.

    POST /api/public/skein/sessions/backfill   {"key": "thread_id"} | {"gap": "30m"}, "dryRun"
    POST /api/public/skein/sessions/rename     {"sessionId", "newSessionId"}
    POST /api/public/skein/sessions/merge      {"sessionIds": [...], "into"}
    POST /api/public/skein/sessions/split      {"sessionId", "atTurn", "newSessionId"}
    POST /api/public/skein/sessions/move       {"traceIds": [...], "toSessionId" (null: none)}
    GET  /api/public/skein/audit?sessionId=&limit=     GET .../audit/{id}
    POST /api/public/skein/audit/{id}/undo
    GET|PUT /api/public/skein/session-rules    [{"kind": "metadata_key", "key": ...}, ...]
    GET  /api/public/skein/archive?sessionId=&userId=&fromTimestamp=&toTimestamp=   (JSONL)
    POST /api/public/skein/archive              (an archive's JSONL, gzip allowed)
    GET  /api/public/skein/sessions/dataset?sessionId=&metadata=false   (chat JSONL)
    GET  /api/public/skein/diagnostics?fromTimestamp=   (why sessions go missing)
    POST /api/public/skein/import/langfuse      (Langfuse's trace / trace list / session JSON)

Every change is recorded with the caller's public key as its actor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from skein.api.access import in_thread, project_of, store_of
from skein.api.ingestion import parse_json
from skein.api.params import Params, parse_timestamp
from skein.errors import BadRequest, NotFound, SkeinError
from skein.ingest.otlp import decompress_body
from skein.keys import parse_basic_auth
from skein.prices import pricing_for
from skein.repair.archive import ArchiveError, Selection, export_lines, import_lines
from skein.repair.backfill import BackfillError, BackfillRequest, apply_backfill, plan_backfill
from skein.repair.dataset import dataset_lines
from skein.repair.diagnose import diagnose
from skein.repair.durations import parse_duration
from skein.repair.edits import Edit, EditError, Merge, Move, Rename, Split, perform, undo
from skein.repair.langfuse_import import LangfuseImportError, import_langfuse
from skein.repair.model import AlreadyUndone, audit_json, rule_json
from skein.repair.rules import RuleError, parse_rules
from skein.request_body import read_body
from skein.services import Services
from skein.store.base import Store

PREFIX = "/api/public/skein"
MAX_BODY_BYTES = 1024 * 1024
MAX_MOVED_TRACES = 1000
DEFAULT_AUDIT_LIMIT = 100
MAX_AUDIT_LIMIT = 1000
JSONL = "application/x-ndjson"


class Conflict(SkeinError):
    status = 409
    code = "conflict"


def routes() -> list[Route]:
    return [
        Route(f"{PREFIX}/sessions/backfill", backfill, methods=["POST"]),
        Route(f"{PREFIX}/sessions/rename", edit_route(rename_of), methods=["POST"]),
        Route(f"{PREFIX}/sessions/merge", edit_route(merge_of), methods=["POST"]),
        Route(f"{PREFIX}/sessions/split", edit_route(split_of), methods=["POST"]),
        Route(f"{PREFIX}/sessions/move", edit_route(move_of), methods=["POST"]),
        Route(f"{PREFIX}/audit", list_audit, methods=["GET"]),
        Route(f"{PREFIX}/audit/{{audit_id}}", get_audit, methods=["GET"]),
        Route(f"{PREFIX}/audit/{{audit_id}}/undo", undo_entry, methods=["POST"]),
        Route(f"{PREFIX}/archive", export_archive, methods=["GET"]),
        Route(f"{PREFIX}/archive", import_archive, methods=["POST"]),
        Route(f"{PREFIX}/sessions/dataset", export_dataset, methods=["GET"]),
        Route(f"{PREFIX}/diagnostics", get_diagnostics, methods=["GET"]),
        Route(f"{PREFIX}/import/langfuse", import_from_langfuse, methods=["POST"]),
        Route(f"{PREFIX}/session-rules", get_rules, methods=["GET"]),
        Route(f"{PREFIX}/session-rules", put_rules, methods=["PUT"]),
    ]


def actor_of(request: Request) -> str:
    """Who made the change: the public key the request authenticated with."""
    public_key, _ = parse_basic_auth(request.headers.get("authorization"))
    return public_key


async def json_body(request: Request) -> Any:
    return parse_json(await read_body(request, MAX_BODY_BYTES))


async def json_object(request: Request) -> dict[str, Any]:
    return as_json_object(await json_body(request))


def as_json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


# -- Backfill -----------------------------------------------------------------------------------


async def backfill(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    body = await json_object(request)
    backfill_request = backfill_request_of(body)
    store = store_of(request)
    plan = await in_thread(plan_backfill, store, project_id, backfill_request)
    shaped = plan.summary()
    shaped["dryRun"] = bool(body.get("dryRun"))
    shaped["auditId"] = None
    if not shaped["dryRun"]:
        entry = await in_thread(apply_backfill, store, project_id, plan, actor_of(request))
        shaped["auditId"] = entry.id if entry else None
    return JSONResponse(shaped)


def backfill_request_of(body: Mapping[str, Any]) -> BackfillRequest:
    try:
        return BackfillRequest(
            key=_optional_text(body, "key"),
            gap_seconds=_gap_of(body),
            confirm_history=bool(body.get("confirmHistory")),
            from_ns=_time_of(body, "fromTimestamp"),
            to_ns=_time_of(body, "toTimestamp"),
            user_id=_optional_text(body, "userId"),
        )
    except BackfillError as error:
        raise BadRequest(str(error)) from None


def _gap_of(body: Mapping[str, Any]) -> float | None:
    raw = body.get("gap", body.get("gapSeconds"))
    if raw is None:
        return None
    try:
        return parse_duration(str(raw))
    except ValueError as error:
        raise BadRequest(str(error)) from None


def _time_of(body: Mapping[str, Any], name: str) -> int | None:
    raw = _optional_text(body, name)
    return None if raw is None else parse_timestamp(name, raw)


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def _text(body: Mapping[str, Any], name: str) -> str:
    value = _optional_text(body, name)
    if value is None:
        raise BadRequest(f"{name} is required")
    return value


# -- Edits ----------------------------------------------------------------------------------------


def rename_of(body: Mapping[str, Any]) -> Edit:
    return Rename(_text(body, "sessionId"), _text(body, "newSessionId"))


def merge_of(body: Mapping[str, Any]) -> Edit:
    return Merge(_texts(body, "sessionIds"), _text(body, "into"))


def split_of(body: Mapping[str, Any]) -> Edit:
    turn = body.get("atTurn")
    if not isinstance(turn, int) or isinstance(turn, bool):
        raise BadRequest("atTurn must be an integer (the first turn of the new session, from 0)")
    return Split(_text(body, "sessionId"), turn, _text(body, "newSessionId"))


def move_of(body: Mapping[str, Any]) -> Edit:
    trace_ids = _texts(body, "traceIds")
    if len(trace_ids) > MAX_MOVED_TRACES:
        raise BadRequest(f"move at most {MAX_MOVED_TRACES} traces at once")
    return Move(trace_ids, _optional_text(body, "toSessionId"))


def _texts(body: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{name} must be a list of strings")
    return tuple(value)


def edit_route(
    read_edit: Callable[[Mapping[str, Any]], Edit],
) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def run(request: Request) -> JSONResponse:
        project_id = await project_of(request)
        edit = read_edit(await json_object(request))
        try:
            entry = await in_thread(perform, store_of(request), project_id, edit, actor_of(request))
        except EditError as error:
            raise (NotFound if error.missing else BadRequest)(str(error)) from None
        return JSONResponse(audit_json(entry))

    return run


# -- Audit log ------------------------------------------------------------------------------------


async def list_audit(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    params = Params(request.query_params)
    limit = params.integer("limit", DEFAULT_AUDIT_LIMIT, 1, MAX_AUDIT_LIMIT)
    entries = await in_thread(
        store_of(request).list_audit, project_id, params.text("sessionId"), limit
    )
    return JSONResponse({"data": [audit_json(e) for e in entries]})


async def get_audit(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    audit_id = request.path_params["audit_id"]
    entry = await in_thread(store_of(request).get_audit, project_id, audit_id)
    if entry is None:
        raise NotFound(f"no audit entry {audit_id} in this project")
    return JSONResponse(audit_json(entry))


async def undo_entry(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    audit_id = request.path_params["audit_id"]
    body = await read_body(request, MAX_BODY_BYTES)
    if body.strip():
        as_json_object(parse_json(body))  # no parameters yet; a body, if any, must be a JSON object
    try:
        entry = await in_thread(undo, store_of(request), project_id, audit_id, actor_of(request))
    except EditError as error:
        raise NotFound(str(error)) from None
    except AlreadyUndone as error:
        raise Conflict(str(error)) from None
    return JSONResponse(audit_json(entry))


# -- Session rules --------------------------------------------------------------------------------


async def get_rules(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    rules = await in_thread(store_of(request).get_session_rules, project_id)
    return JSONResponse({"rules": [rule_json(r) for r in parse_rules(rules)]})


async def put_rules(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    body = await json_body(request)
    raw = body.get("rules") if isinstance(body, dict) else body
    try:
        rules = parse_rules(raw)
    except RuleError as error:
        raise BadRequest(str(error)) from None
    services: Services = request.app.state.services
    await in_thread(services.store.set_session_rules, project_id, rules)
    services.session_rules.invalidate(project_id)
    return JSONResponse({"rules": [rule_json(r) for r in rules]})


# -- Archive ---------------------------------------------------------------------------------------


async def export_archive(request: Request) -> StreamingResponse:
    project_id = await project_of(request)
    params = Params(request.query_params)
    selection = Selection(
        session_ids=params.texts("sessionId"),
        user_id=params.text("userId"),
        from_ns=params.timestamp("fromTimestamp"),
        to_ns=params.timestamp("toTimestamp"),
    )
    lines = export_lines(store_of(request), project_id, selection)
    return StreamingResponse(iterate_in_threadpool(lines), media_type=JSONL)


async def import_archive(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    raw = await read_body(request, services.settings.max_body_bytes)
    encoding, limit = request.headers.get("content-encoding"), services.settings.max_decoded_bytes
    body = await in_thread(lambda: decompress_body(raw, encoding, limit=limit))
    text = body.decode("utf-8-sig", errors="replace")
    try:
        counts = await in_thread(import_lines, services.store, project_id, text.splitlines())
    except (ArchiveError, TypeError, KeyError) as error:
        raise BadRequest(f"not a Skein archive: {error}") from None
    return JSONResponse(counts.as_json())


async def export_dataset(request: Request) -> StreamingResponse:
    project_id = await project_of(request)
    params = Params(request.query_params)
    with_metadata = params.boolean("metadata") is not False
    session_ids = params.texts("sessionId")
    await in_thread(require_sessions, store_of(request), project_id, session_ids)
    lines = dataset_lines(store_of(request), project_id, session_ids, with_metadata)
    return StreamingResponse(iterate_in_threadpool(lines), media_type=JSONL)


def require_sessions(store: Store, project_id: str, session_ids: Sequence[str]) -> None:
    """404 before a stream starts, when a named session is not in the caller's project."""
    for session_id in session_ids:
        if store.get_session(project_id, session_id) is None:
            raise NotFound(f"no session {session_id} in this project")


async def get_diagnostics(request: Request) -> JSONResponse:
    project_id = await project_of(request)
    from_ns = Params(request.query_params).timestamp("fromTimestamp")
    found = await in_thread(diagnose, store_of(request), project_id, from_ns)
    return JSONResponse(found.as_json())


async def import_from_langfuse(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    project_id = await services.authenticate(request)
    raw = await read_body(request, services.settings.max_body_bytes)
    document = parse_json(raw)
    book = await in_thread(services.prices.book, project_id)
    try:
        done = await in_thread(
            import_langfuse, services.store, project_id, document, pricing_for(book)
        )
    except LangfuseImportError as error:
        raise BadRequest(str(error)) from None
    return JSONResponse(done.as_json())
