"""The OpenAPI 3.1 description of Skein's HTTP API, served at `/api/public/openapi.json`.

Written by hand, one small function per endpoint, from the handlers' documented behaviour;
`tests/api/test_openapi.py` checks that every route is described and every described path
is routed. When you add or change an endpoint, change its entry here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from skein import __version__
from skein.api.repair_openapi import repair_paths
from skein.store.base import MAX_PAGE_SIZE

Spec = dict[str, Any]

ERROR_RESPONSES = {
    "400": "bad parameters or body",
    "401": "missing or invalid API key",
    "404": "no such object in the key's project",
    "503": "not ready: the database does not answer, or the write queue is full",
}


# -- Building blocks -------------------------------------------------------------------------


def ref(name: str) -> Spec:
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, description: str, schema: Spec | None = None, repeat: bool = False) -> Spec:
    base = schema or {"type": "string"}
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "array", "items": base} if repeat else base,
        **({"explode": True} if repeat else {}),
    }


def path(name: str, description: str) -> Spec:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def integer(minimum: int, maximum: int | None = None, default: int | None = None) -> Spec:
    schema: Spec = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    if default is not None:
        schema["default"] = default
    return schema


TIMESTAMP = {"type": "string", "format": "date-time"}
BOOLEAN = {"type": "boolean"}


def json_response(description: str, schema: Spec) -> Spec:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def operation(
    summary: str,
    tag: str,
    ok: Spec,
    parameters: list[Spec] | None = None,
    body: Spec | None = None,
    errors: tuple[str, ...] = ("400", "401"),
    public: bool = False,
    status: str = "200",
) -> Spec:
    """One operation: its `status` (200) answer `ok`, and the error answers it can give."""
    responses: Spec = {status: ok}
    for status in errors:
        responses[status] = json_response(ERROR_RESPONSES[status], ref("Error"))
    spec: Spec = {"summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        spec["parameters"] = parameters
    if body is not None:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if public:
        spec["security"] = []
    return spec


def paging_parameters(default_limit: int = 50) -> list[Spec]:
    return [
        query("page", "page number, from 1", integer(1, default=1)),
        query("limit", "rows per page", integer(1, MAX_PAGE_SIZE, default_limit)),
        query("cursor", "continue after the page that returned this `meta.nextCursor`"),
    ]


# -- Traces ----------------------------------------------------------------------------------

TRACE_FILTERS = [
    query("userId", "the trace's user"),
    query("name", "the trace's name"),
    query("sessionId", "the trace's session"),
    query("tags", "tags the trace must all have", repeat=True),
    query("environment", "any of these environments", repeat=True),
    query("release", "the trace's release"),
    query("version", "the trace's version"),
    query("fromTimestamp", "traces starting at or after", TIMESTAMP),
    query("toTimestamp", "traces starting before", TIMESTAMP),
    query("hasErrors", "only traces with (true) or without (false) ERROR observations", BOOLEAN),
    query(
        "orderBy",
        "FIELD, FIELD.asc or FIELD.desc; FIELD one of timestamp, id, name, userId, sessionId,"
        " release, version, latency, totalCost, totalTokens, errors, observations",
    ),
]
TRACE_FIELDS = query(
    "fields", "comma list of groups: core, io, scores, observations, metrics (default all)"
)


def trace_paths() -> Spec:
    trace_id = path("traceId", "the trace id")
    return {
        "/api/public/traces": {
            "get": operation(
                "List traces", "traces", json_response("a page of traces", ref("Traces")),
                [*paging_parameters(), *TRACE_FILTERS, TRACE_FIELDS],
            ),
            "delete": operation(
                "Delete traces (up to 1000) with their observations", "traces",
                json_response("deleted", ref("DeleteResponse")),
                body={"type": "object", "required": ["traceIds"], "properties": {
                    "traceIds": {"type": "array", "items": {"type": "string"},
                                 "minItems": 1, "maxItems": 1000}}},
            ),
        },
        "/api/public/traces/{traceId}": {
            "get": operation(
                "Get a trace with its observations and scores", "traces",
                json_response("the trace", ref("TraceWithFullDetails")), [trace_id, TRACE_FIELDS],
                errors=("400", "401", "404"),
            ),
            "delete": operation(
                "Delete a trace with its observations", "traces",
                json_response("deleted", ref("DeleteResponse")), [trace_id],
                errors=("401", "404"),
            ),
        },
    }  # fmt: skip


# -- Sessions --------------------------------------------------------------------------------

SESSION_FILTERS = [
    query("fromTimestamp", "sessions active at or after (last activity)", TIMESTAMP),
    query("toTimestamp", "sessions active before (first activity)", TIMESTAMP),
    query("environment", "sessions with a trace in any of these environments", repeat=True),
    query("userId", "sessions with a trace of this user"),
    query("tag", "sessions with a trace carrying this tag"),
    query("hasErrors", "only sessions with (true) or without (false) errors", BOOLEAN),
    query("minTraces", "sessions of at least this many traces", integer(0)),
    query("idPrefix", "session ids starting with this"),
    query("idContains", "session ids containing this"),
    query(
        "orderBy",
        "FIELD, FIELD.asc or FIELD.desc; FIELD one of createdAt, firstActivity, lastActivity,"
        " totalCost, totalTokens, duration, traceCount, errors (default createdAt.desc)",
    ),
]


def session_paths() -> Spec:
    session_id = path("sessionId", "the session id")
    traces_paging = [
        query("tracesLimit", "traces per page", integer(1, MAX_PAGE_SIZE, MAX_PAGE_SIZE)),
        query("tracesPage", "page of the session's traces, from 1", integer(1, default=1)),
        query("tracesCursor", "continue after the page that returned this cursor"),
    ]
    return {
        "/api/public/sessions": {
            "get": operation(
                "List sessions with their rollups", "sessions",
                json_response("a page of sessions", ref("PaginatedSessions")),
                [*paging_parameters(), *SESSION_FILTERS],
            ),
        },
        "/api/public/sessions/{sessionId}": {
            "get": operation(
                "Get a session, its rollups and (a page of) its traces in time order",
                "sessions", json_response("the session", ref("SessionWithTraces")),
                [session_id, *traces_paging], errors=("400", "401", "404"),
            ),
            "delete": operation(
                "Delete a session: all its traces and their observations", "sessions",
                json_response("deleted", ref("DeleteResponse")), [session_id],
                errors=("401", "404"),
            ),
        },
    }  # fmt: skip


# -- Observations ----------------------------------------------------------------------------

OBSERVATION_FILTERS = [
    query("traceId", "the observation's trace"),
    query("sessionId", "observations of the traces of this session"),
    query("userId", "observations of the traces of this user"),
    query("type", "GENERATION, SPAN, EVENT, AGENT, TOOL, ..."),
    query("name", "the observation's name"),
    query("level", "DEBUG, DEFAULT, WARNING or ERROR"),
    query("parentObservationId", "the observation's parent"),
    query("environment", "any of these environments", repeat=True),
    query("version", "the observation's version"),
    query("fromStartTime", "observations starting at or after", TIMESTAMP),
    query("toStartTime", "observations starting before", TIMESTAMP),
    query("orderBy", "startTime.desc (default) or startTime.asc"),
]


def observation_paths() -> Spec:
    v2_parameters = [
        query("limit", "rows per page", integer(1, 1000, 50)),
        query("cursor", "continue after the page that returned this `meta.cursor`"),
        query(
            "fields",
            "comma list of groups: core, basic, time, io, metadata, model, usage,"
            " prompt, metrics, trace_context (default core,basic)",
        ),
        query("expandMetadata", "metadata keys to return uncut (others cut at 200 chars)"),
        query("isRootObservation", "only roots (true) or only non-roots (false)", BOOLEAN),
        *OBSERVATION_FILTERS,
    ]
    return {
        "/api/public/observations": {
            "get": operation(
                "List observations (v1)", "observations",
                json_response("a page of observations", ref("ObservationsViews")),
                [*paging_parameters(), *OBSERVATION_FILTERS],
            ),
        },
        "/api/public/observations/{observationId}": {
            "get": operation(
                "Get an observation (v1)", "observations",
                json_response("the observation", ref("ObservationsView")),
                [path("observationId", "the observation id")], errors=("401", "404"),
            ),
        },
        "/api/public/v2/observations": {
            "get": operation(
                "List observations (v2: cursor, field groups)", "observations",
                json_response("a page of observations", ref("ObservationsV2Response")),
                v2_parameters,
            ),
        },
    }  # fmt: skip


# -- Export, prompts, ingestion, service -----------------------------------------------------


def export_paths() -> Spec:
    form = query(
        "format",
        "jsonl (default), json or csv",
        {"type": "string", "enum": ["jsonl", "json", "csv"]},
    )
    streamed = {
        "description": "every matching row, streamed; X-Total-Count gives their number",
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    return {
        "/api/public/export/sessions": {
            "get": operation("Export sessions with their rollups", "export", streamed,
                             [form, *SESSION_FILTERS]),
        },
        "/api/public/export/traces": {
            "get": operation("Export traces with their session id and I/O", "export", streamed,
                             [form, *TRACE_FILTERS]),
        },
    }  # fmt: skip


def prompt_paths() -> Spec:
    missing = json_response("never: Skein manages no prompts", ref("Error"))
    name = path("name", "the prompt name (may contain slashes)")
    return {
        "/api/public/v2/prompts": {
            "get": operation("Prompts: always 404", "prompts", missing, errors=("401", "404")),
        },
        "/api/public/v2/prompts/{name}": {
            "get": operation("A prompt: always 404, so SDK fallbacks apply", "prompts", missing,
                             [name], errors=("401", "404")),
        },
        "/api/public/prompts": {
            "get": operation("Prompts (v1): always 404", "prompts", missing,
                             errors=("401", "404")),
        },
    }  # fmt: skip


def ingestion_paths() -> Spec:
    otlp = {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("application/x-protobuf", "application/json")
        },
    }
    traces = operation(
        "OTLP/HTTP trace export (protobuf or JSON, optionally gzip)", "ingestion",
        json_response("accepted (partial_success lists rejected spans)", {"type": "object"}),
        errors=("400", "401"),
    )  # fmt: skip
    traces["requestBody"] = otlp
    metrics = operation(
        "OTLP metrics: accepted and dropped", "ingestion",
        json_response("accepted", {"type": "object"}), errors=("401",),
    )  # fmt: skip
    return {
        "/api/public/otel/v1/traces": {"post": traces},
        "/v1/traces": {"post": traces},
        "/api/public/otel/v1/metrics": {"post": metrics},
    }


def batch_paths() -> Spec:
    answer = json_response(
        "per-event results: successes (201) and errors (400)", ref("IngestionResponse")
    )
    answer["description"] = "207 Multi-Status, always, once the body parses"
    return {
        "/api/public/ingestion": {
            "post": operation(
                "Langfuse batch ingestion: trace, observation and score events", "ingestion",
                answer, body=ref("IngestionBatch"), errors=("400", "401"), status="207"),
        },
    }  # fmt: skip


def score_paths() -> Spec:
    score_id = path("score_id", "the score's id")
    one = json_response("the score", ref("Score"))
    filters = [
        query("traceId", "scores on this trace (and its observations)"),
        query("observationId", "scores on this observation"),
        query("sessionId", "scores on this session"),
        query("name", "the score's name"),
        query("dataType", "NUMERIC, CATEGORICAL or BOOLEAN"),
        query("source", "API, ANNOTATION or EVAL"),
        query("configId", "the score config id"),
        query("environment", "any of these environments", repeat=True),
        query("fromTimestamp", "scores at or after", TIMESTAMP),
        query("toTimestamp", "scores before", TIMESTAMP),
    ]
    page = [
        query("page", "page number, from 1", integer(1, default=1)),
        query("limit", "rows per page", integer(1, 100, 50)),
    ]
    listed = json_response("a page of scores", ref("Scores"))
    v3 = [
        query("limit", "rows per page", integer(1, 100, 50)),
        query("cursor", "the `meta.cursor` of the previous page"),
        query("fields", "comma list of groups: details, subject, annotation (all returned)"),
        query("id", "comma list of score ids"),
        *filters,
    ]
    create = json_response(
        "one score: {id}; an array: 202 {message: Accepted} or 207 {accepted, rejected, errors}",
        {"type": "object"},
    )
    created = operation(
        "Create scores (one object, or an array)",
        "scores",
        create,
        body={"oneOf": [ref("ScoreBody"), {"type": "array", "items": ref("ScoreBody")}]},
    )
    created["responses"]["202"] = created["responses"]["207"] = create
    return {
        "/api/public/scores": {
            "post": created,
            "get": operation("Scores (Langfuse v2 shape)", "scores", listed, [*page, *filters]),
        },
        "/api/public/v2/scores": {
            "get": operation("Scores (Langfuse v2 shape)", "scores", listed, [*page, *filters]),
        },
        "/api/public/v3/scores": {
            "get": operation("Scores (Langfuse v3 shape, cursor paging)", "scores",
                             json_response("a page of scores", ref("ScoresV3")), v3),
        },
        "/api/public/scores/{score_id}": {
            "get": operation("A score", "scores", one, [score_id], errors=("401", "404")),
            "delete": operation("Delete a score", "scores",
                                json_response("deleted", ref("DeleteResponse")), [score_id],
                                errors=("401", "404")),
        },
        "/api/public/v2/scores/{score_id}": {
            "get": operation("A score", "scores", one, [score_id], errors=("401", "404")),
        },
    }  # fmt: skip


def model_paths() -> Spec:
    model_id = path("model_id", "the model price's id")
    one = json_response("the model price", ref("Model"))
    return {
        "/api/public/models": {
            "get": operation("Model prices: the project's, then Skein's table", "models",
                             json_response("a page of model prices", ref("Models")),
                             [query("page", "page number, from 1", integer(1, default=1)),
                              query("limit", "rows per page", integer(1, 100, 50))]),
            "post": operation("Add a project model price (matched before Skein's table)",
                              "models", one, body=ref("ModelBody")),
        },
        "/api/public/models/{model_id}": {
            "get": operation("A model price", "models", one, [model_id], errors=("401", "404")),
            "delete": operation("Delete a project model price", "models",
                                json_response("deleted", ref("DeleteResponse")), [model_id],
                                errors=("400", "401", "404")),
        },
    }  # fmt: skip


SCORE_FILTERS = [
    query("traceId", "scores on this trace (or its observations)"),
    query("observationId", "scores on this observation"),
    query("sessionId", "scores on this session"),
    query("name", "the score's name"),
    query("dataType", "NUMERIC, CATEGORICAL or BOOLEAN"),
    query("source", "API, ANNOTATION or EVAL"),
    query("configId", "the score config"),
    query("environment", "any of these environments", repeat=True),
    query("fromTimestamp", "scores at or after", TIMESTAMP),
    query("toTimestamp", "scores before", TIMESTAMP),
]
SCORE_PAGING = [
    query("page", "page number, from 1", integer(1, default=1)),
    query("limit", "rows per page", integer(1, 100, 50)),
]


def write_paths() -> Spec:
    """Batch ingestion, scores and model prices (the write side of the public API)."""
    body = {"type": "object"}
    score_id = path("scoreId", "the score id")
    model_id = path("modelId", "the model price id")
    listed = json_response("a page of scores", ref("List"))
    one_score = json_response("the score", ref("Score"))
    v3 = operation(
        "List scores (v3: typed values, subject, cursor)",
        "scores",
        json_response("a page of scores", {"type": "object"}),
        [
            query("limit", "rows per page", integer(1, 100, 50)),
            query("cursor", "continue after the page that returned this `meta.cursor`"),
            query("fields", "comma list of groups: details, subject, annotation"),
            *SCORE_FILTERS,
        ],
    )
    return {
        "/api/public/ingestion": {
            "post": operation(
                "Langfuse batch ingestion: per-event results", "ingestion",
                json_response("207-style {successes, errors}", ref("IngestionResponse")),
                body=body,
            ),
        },
        "/api/public/scores": {
            "post": operation("Create a score, or an array of scores", "scores",
                              json_response("created", {"type": "object"}), body=body),
            "get": operation("List scores", "scores", listed, [*SCORE_PAGING, *SCORE_FILTERS]),
        },
        "/api/public/v2/scores": {
            "get": operation("List scores (v2)", "scores", listed, [*SCORE_PAGING, *SCORE_FILTERS]),
        },
        "/api/public/v3/scores": {"get": v3},
        "/api/public/scores/{scoreId}": {
            "get": operation("Get a score", "scores", one_score, [score_id],
                             errors=("401", "404")),
            "delete": operation("Delete a score", "scores",
                                json_response("deleted", ref("DeleteResponse")), [score_id],
                                errors=("401", "404")),
        },
        "/api/public/v2/scores/{scoreId}": {
            "get": operation("Get a score (v2)", "scores", one_score, [score_id],
                             errors=("401", "404")),
        },
        "/api/public/models": {
            "get": operation("List model prices: the project's, then Skein's table", "models",
                             json_response("a page of models", ref("List")), SCORE_PAGING),
            "post": operation("Add a project model price", "models",
                              json_response("the model", ref("Model")), body=body),
        },
        "/api/public/models/{modelId}": {
            "get": operation("Get a model price", "models",
                             json_response("the model", ref("Model")), [model_id],
                             errors=("401", "404")),
            "delete": operation("Delete a project model price", "models",
                                json_response("deleted", ref("DeleteResponse")), [model_id],
                                errors=("400", "401", "404")),
        },
    }  # fmt: skip


def service_paths() -> Spec:
    spec = json_response("this document", {"type": "object"})
    return {
        "/api/public/health": {
            "get": operation("Health", "service", json_response("up", ref("Health")),
                             errors=(), public=True),
        },
        "/api/public/ready": {
            "get": operation("Readiness (for a load balancer)", "service",
                             json_response("ready", ref("Ready")), errors=("503",),
                             public=True),
        },
        "/api/public/projects": {
            "get": operation("The project of the caller's key", "service",
                             json_response("the project", ref("Projects")), errors=("401",)),
        },
        "/api/public/openapi.json": {
            "get": operation("This OpenAPI document", "service", spec, errors=(), public=True),
        },
        "/openapi.json": {
            "get": operation("This OpenAPI document", "service", spec, errors=(), public=True),
        },
    }  # fmt: skip


# -- Schemas ---------------------------------------------------------------------------------


def obj(required: list[str], properties: Spec) -> Spec:
    return {"type": "object", "required": required, "properties": properties}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
NUMBER = {"type": "number"}
INT = {"type": "integer"}
STRINGS = {"type": "array", "items": STRING}
ANY: Spec = {}
USAGE = obj(["input", "output", "total"], {"input": INT, "output": INT, "total": INT})


def trace_schemas() -> Spec:
    trace = obj(
        ["id", "timestamp", "tags", "public", "environment"],
        {
            "id": STRING, "projectId": STRING, "timestamp": TIMESTAMP, "name": NULLABLE_STRING,
            "input": ANY, "output": ANY, "sessionId": NULLABLE_STRING, "userId": NULLABLE_STRING,
            "release": NULLABLE_STRING, "version": NULLABLE_STRING, "metadata": ANY,
            "tags": STRINGS, "public": BOOLEAN, "bookmarked": BOOLEAN, "environment": STRING,
            "htmlPath": STRING, "latency": NUMBER, "totalCost": NUMBER,
            "observationCount": INT, "errorCount": INT, "usage": USAGE,
            "sessionSource": NULLABLE_STRING,
        },
    )  # fmt: skip
    listed = {
        "allOf": [
            trace,
            obj(
                ["htmlPath", "observations", "scores"],
                {"observations": STRINGS, "scores": {"type": "array"}},
            ),
        ]
    }
    full = {
        "allOf": [
            trace,
            obj(
                ["htmlPath", "observations", "scores"],
                {
                    "observations": {"type": "array", "items": ref("ObservationsView")},
                    "scores": {"type": "array"},
                },
            ),
        ]
    }
    return {
        "Trace": trace,
        "TraceWithDetails": listed,
        "TraceWithFullDetails": full,
        "Traces": obj(["data", "meta"], {
            "data": {"type": "array", "items": ref("TraceWithDetails")},
            "meta": ref("MetaResponse")}),
    }  # fmt: skip


def session_schemas() -> Spec:
    session = obj(
        ["id", "createdAt", "projectId", "environment"],
        {
            "id": STRING, "createdAt": TIMESTAMP, "projectId": STRING, "environment": STRING,
            "traceCount": INT, "firstActivity": TIMESTAMP, "lastActivity": TIMESTAMP,
            "durationMs": NUMBER, "observationCount": INT, "errorCount": INT, "usage": USAGE,
            "totalCost": NUMBER, "userIds": STRINGS, "tags": STRINGS, "environments": STRINGS,
            "sessionSources": STRINGS,
            "scores": {"type": "object", "additionalProperties": ref("ScoreAggregate")},
        },
    )  # fmt: skip
    aggregate = obj(["dataType", "count"], {
        "dataType": STRING, "count": INT, "average": {"type": ["number", "null"]},
        "minimum": {"type": ["number", "null"]}, "maximum": {"type": ["number", "null"]},
        "values": {"type": "object", "additionalProperties": INT}})  # fmt: skip
    with_traces = {
        "allOf": [
            session,
            obj(
                ["traces"],
                {
                    "traces": {"type": "array", "items": ref("Trace")},
                    "tracesMeta": ref("MetaResponse"),
                },
            ),
        ]
    }
    return {
        "Session": session,
        "ScoreAggregate": aggregate,
        "SessionWithTraces": with_traces,
        "PaginatedSessions": obj(["data", "meta"], {
            "data": {"type": "array", "items": ref("Session")}, "meta": ref("MetaResponse")}),
    }  # fmt: skip


def observation_schemas() -> Spec:
    view = obj(
        ["id", "type", "startTime", "modelParameters", "input", "output", "usage", "level",
         "usageDetails", "costDetails", "environment"],
        {
            "id": STRING, "traceId": STRING, "parentObservationId": NULLABLE_STRING,
            "type": STRING, "name": STRING, "startTime": TIMESTAMP, "endTime": TIMESTAMP,
            "completionStartTime": {"type": ["string", "null"], "format": "date-time"},
            "model": NULLABLE_STRING, "modelParameters": ANY, "input": ANY, "output": ANY,
            "metadata": ANY, "usage": USAGE, "level": STRING, "statusMessage": NULLABLE_STRING,
            "usageDetails": {"type": "object", "additionalProperties": INT},
            "costDetails": {"type": "object", "additionalProperties": NUMBER},
            "environment": STRING, "latency": NUMBER, "timeToFirstToken": ANY,
            "calculatedTotalCost": ANY, "promptName": NULLABLE_STRING, "promptVersion": ANY,
        },
    )  # fmt: skip
    v2 = obj(["id", "traceId", "startTime", "projectId", "type"], {
        "id": STRING, "traceId": STRING, "startTime": TIMESTAMP, "endTime": TIMESTAMP,
        "projectId": STRING, "parentObservationId": NULLABLE_STRING, "type": STRING})  # fmt: skip
    return {
        "ObservationsView": view,
        "ObservationsViews": obj(["data", "meta"], {
            "data": {"type": "array", "items": ref("ObservationsView")},
            "meta": ref("MetaResponse")}),
        "ObservationV2": {**v2, "additionalProperties": True},
        "ObservationsV2Response": obj(["data", "meta"], {
            "data": {"type": "array", "items": ref("ObservationV2")},
            "meta": obj([], {"cursor": STRING})}),
    }  # fmt: skip


def write_schemas() -> Spec:
    event = obj(["id", "type", "timestamp", "body"], {
        "id": STRING, "type": STRING, "timestamp": TIMESTAMP, "body": {"type": "object"},
        "metadata": ANY})  # fmt: skip
    result = obj(["id", "status"], {
        "id": NULLABLE_STRING, "status": INT, "message": STRING, "error": ANY})  # fmt: skip
    score_common = {
        "id": STRING, "projectId": STRING, "name": STRING, "source": STRING,
        "dataType": {"enum": ["NUMERIC", "CATEGORICAL", "BOOLEAN"]}, "timestamp": TIMESTAMP,
        "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP, "environment": STRING,
        "comment": NULLABLE_STRING, "configId": NULLABLE_STRING, "metadata": ANY,
    }  # fmt: skip
    score = obj(["id", "name", "value", "dataType", "source", "timestamp"], {
        **score_common, "traceId": NULLABLE_STRING, "observationId": NULLABLE_STRING,
        "sessionId": NULLABLE_STRING, "value": NUMBER, "stringValue": STRING})  # fmt: skip
    score_v3 = obj(["id", "projectId", "name", "value", "dataType", "source", "timestamp"], {
        **score_common, "value": ANY, "subject": {"type": "object"}})  # fmt: skip
    score_body = obj(["name", "value"], {
        "id": STRING, "traceId": STRING, "observationId": STRING, "sessionId": STRING,
        "name": STRING, "value": {"type": ["number", "string", "boolean"]},
        "dataType": {"enum": ["NUMERIC", "CATEGORICAL", "BOOLEAN"]}, "comment": STRING,
        "timestamp": TIMESTAMP, "source": STRING, "configId": STRING, "environment": STRING,
        "metadata": ANY})  # fmt: skip
    model = obj(["id", "modelName", "matchPattern", "prices", "isLangfuseManaged"], {
        "id": STRING, "modelName": STRING, "matchPattern": STRING, "unit": STRING,
        "inputPrice": {"type": ["number", "null"]}, "outputPrice": {"type": ["number", "null"]},
        "totalPrice": {"type": ["number", "null"]}, "prices": {"type": "object"},
        "pricingTiers": {"type": "array"}, "isLangfuseManaged": BOOLEAN,
        "source": NULLABLE_STRING})  # fmt: skip
    model_body = obj(["modelName", "matchPattern"], {
        "modelName": STRING, "matchPattern": STRING, "unit": STRING, "inputPrice": NUMBER,
        "outputPrice": NUMBER, "totalPrice": NUMBER, "prices": {"type": "object"},
        "pricingTiers": {"type": "array"}})  # fmt: skip
    return {
        "IngestionBatch": obj(["batch"], {"batch": {"type": "array", "items": event},
                                          "metadata": ANY}),
        "IngestionResponse": obj(["successes", "errors"], {
            "successes": {"type": "array", "items": result},
            "errors": {"type": "array", "items": result}}),
        "Score": score,
        "ScoreV3": score_v3,
        "ScoreBody": score_body,
        "Scores": obj(["data", "meta"], {"data": {"type": "array", "items": ref("Score")},
                                         "meta": ref("MetaResponse")}),
        "ScoresV3": obj(["data", "meta"], {"data": {"type": "array", "items": ref("ScoreV3")},
                                           "meta": obj(["limit"], {"limit": INT,
                                                                   "cursor": STRING})}),
        "Model": model,
        "ModelBody": model_body,
        "Models": obj(["data", "meta"], {"data": {"type": "array", "items": ref("Model")},
                                         "meta": ref("MetaResponse")}),
    }  # fmt: skip


def common_schemas() -> Spec:
    error = obj(["error", "message"], {
        "message": STRING,
        "error": obj(["status", "code", "message"], {
            "status": INT, "code": STRING, "message": STRING, "details": ANY})})  # fmt: skip
    meta = obj(["page", "limit", "totalItems", "totalPages"], {
        "page": INT, "limit": INT, "totalItems": INT, "totalPages": INT,
        "nextCursor": STRING})  # fmt: skip
    project = obj(["id", "name", "organization", "metadata"], {
        "id": STRING, "name": STRING, "metadata": {"type": "object"},
        "organization": obj(["id", "name"], {"id": STRING, "name": STRING})})  # fmt: skip
    score = obj(["id", "name", "dataType", "source", "timestamp"], {
        "id": STRING, "name": STRING, "dataType": STRING, "source": STRING,
        "timestamp": TIMESTAMP, "traceId": NULLABLE_STRING, "observationId": NULLABLE_STRING,
        "sessionId": NULLABLE_STRING, "value": ANY, "stringValue": NULLABLE_STRING,
        "comment": NULLABLE_STRING})  # fmt: skip
    model = obj(["id", "modelName", "matchPattern"], {
        "id": STRING, "modelName": STRING, "matchPattern": STRING, "unit": NULLABLE_STRING,
        "inputPrice": ANY, "outputPrice": ANY, "totalPrice": ANY, "prices": ANY})  # fmt: skip
    return {
        "Score": score,
        "Model": model,
        "List": obj(["data", "meta"], {"data": {"type": "array"}, "meta": ref("MetaResponse")}),
        "IngestionResponse": obj(
            ["successes", "errors"], {"successes": {"type": "array"}, "errors": {"type": "array"}}
        ),
        "Error": error,
        "MetaResponse": meta,
        "DeleteResponse": obj(["message"], {"message": STRING}),
        "Health": obj(["status", "version"], {"status": STRING, "version": STRING}),
        "Ready": obj(
            ["status", "version", "pendingSpans"],
            {"status": STRING, "version": STRING, "pendingSpans": INT},
        ),
        "Projects": obj(["data"], {"data": {"type": "array", "items": project}}),
    }


# -- The document ----------------------------------------------------------------------------

PATH_SECTIONS = (
    service_paths, ingestion_paths, write_paths, trace_paths, session_paths, observation_paths,
    export_paths, prompt_paths, batch_paths, score_paths, model_paths, repair_paths,
)  # fmt: skip
SCHEMA_SECTIONS = (
    common_schemas, trace_schemas, session_schemas, observation_schemas, write_schemas,
)  # fmt: skip


def build_spec() -> Spec:
    paths: Spec = {}
    for section in PATH_SECTIONS:
        paths.update(section())
    schemas: Spec = {}
    for schemas_of in SCHEMA_SECTIONS:
        schemas.update(schemas_of())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Skein",
            "version": __version__,
            "description": "Skein's HTTP API: Langfuse-compatible public API plus session"
            " rollups, sorts, cursors and export. Authenticate with HTTP Basic"
            " public_key:secret_key.",
        },
        "security": [{"basicAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
            "schemas": schemas,
        },
    }


async def serve_spec(request: Request) -> JSONResponse:
    return JSONResponse(build_spec())
