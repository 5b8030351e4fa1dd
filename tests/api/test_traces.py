"""`/api/public/traces`: list (filters, sorts, paging, field groups), get, delete."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

import pytest
from starlette.responses import JSONResponse

from skein.api.scores import score_json
from skein.api.shapes import TRACE_FIELD_GROUPS, observation_json, trace_json, without_metrics
from skein.api.traces import trace_scores
from skein.fold import TraceSummary
from skein.records import MappedBatch, Observation, Score, TraceAttributes
from skein.store.base import TraceQuery
from tests.api.factories import B_ONLY_INDEX, Api, api, fresh_api
from tests.store.factories import START_NS, make_full_observation
from tests.store.query_factories import SECOND_NS, span_id_of, trace_id_of

__all__ = ["api", "fresh_api"]  # fixtures

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TRACES = "/api/public/traces"


def stored_traces(api: Api) -> list[TraceSummary]:
    return list(api.store.query_traces(api.project_a, TraceQuery(limit=1000)).items)


def listed_ids(api: Api, query: str) -> list[str]:
    return [t["id"] for t in api.json(f"{TRACES}?limit=100&{query}")["data"]]


def test_list_answers_every_trace_newest_first_with_the_required_fields(api: Api) -> None:
    body = api.json(TRACES)

    expected = sorted(stored_traces(api), key=lambda t: (t.start_ns, t.trace_id), reverse=True)
    assert [t["id"] for t in body["data"]] == [t.trace_id for t in expected]
    assert body["meta"] == {"page": 1, "limit": 50, "totalItems": len(expected), "totalPages": 1}
    for trace in body["data"]:
        assert {"id", "timestamp", "tags", "public", "environment", "htmlPath"} <= trace.keys()
        assert ISO_MS_Z.match(trace["timestamp"])
        assert trace["projectId"] == api.project_a


def test_list_item_carries_observation_ids_io_and_metrics(api: Api) -> None:
    trace = next(t for t in api.json(TRACES)["data"] if t["id"] == trace_id_of(2))

    assert trace["observations"] == [span_id_of(2, 0), span_id_of(2, 1)]
    assert trace["input"] == "question 2"  # the trace-level input, not the root's own
    assert trace["output"] == "root output 2"
    assert trace["htmlPath"] == f"/traces/{trace_id_of(2)}"
    stored = api.store.get_trace(api.project_a, trace_id_of(2))
    assert stored is not None
    assert trace["latency"] == pytest.approx(stored.duration_ns / SECOND_NS)
    assert trace["totalCost"] == pytest.approx(stored.total_cost)


def test_fields_leave_out_groups(api: Api) -> None:
    trace = api.json(f"{TRACES}?fields=core&limit=1")["data"][0]

    assert "input" not in trace and "output" not in trace
    assert trace["observations"] == [] and trace["scores"] == []
    assert trace["latency"] == -1 and trace["totalCost"] == -1


FILTERS: list[tuple[str, Any]] = [
    ("userId=u1", lambda t: t.user_id == "u1"),
    ("sessionId=s2", lambda t: t.session_id == "s2"),
    ("name=opening", lambda t: t.name == "opening"),
    ("tags=chat&tags=vip", lambda t: {"chat", "vip"} <= set(t.tags)),
    ("environment=production&environment=staging", lambda t: t.environment == "production"),
    ("release=r2", lambda t: t.release == "r2"),
    ("hasErrors=true", lambda t: t.error_count > 0),
]


@pytest.mark.parametrize(("query", "keep"), FILTERS)
def test_filters(api: Api, query: str, keep: Any) -> None:
    expected = {t.trace_id for t in stored_traces(api) if keep(t)}

    assert set(listed_ids(api, query)) == expected
    assert 0 < len(expected) < len(stored_traces(api))


def test_time_range_bounds_the_trace_start(api: Api) -> None:
    traces = sorted(stored_traces(api), key=lambda t: t.start_ns)
    low, high = traces[2], traces[-2]
    query = f"fromTimestamp={iso(low.start_ns)}&toTimestamp={iso(high.start_ns)}"

    expected = {t.trace_id for t in traces if low.start_ns <= t.start_ns < high.start_ns}
    assert set(listed_ids(api, query)) == expected


def iso(ns: int) -> str:
    """A timestamp as a Langfuse SDK sends it (an offset, URL-escaped by the client)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+", "%2B")


@pytest.mark.parametrize(
    ("order_by", "key", "descending"),
    [
        ("latency.asc", lambda t: t.duration_ns, False),
        ("totalCost.desc", lambda t: t.total_cost, True),
        ("timestamp.asc", lambda t: t.start_ns, False),
        ("userId", lambda t: t.user_id or "", True),  # FIELD alone sorts descending
    ],
)
def test_order_by(api: Api, order_by: str, key: Any, descending: bool) -> None:
    ids = listed_ids(api, f"orderBy={order_by}")

    expected = sorted(stored_traces(api), key=lambda t: (key(t), t.trace_id), reverse=descending)
    assert ids == [t.trace_id for t in expected]


def test_page_numbers_and_cursors_reach_the_same_rows(api: Api) -> None:
    first = api.json(f"{TRACES}?limit=4")
    second = api.json(f"{TRACES}?limit=4&page=2")
    by_cursor = api.json(f"{TRACES}?limit=4&cursor={first['meta']['nextCursor']}")

    assert [t["id"] for t in second["data"]] == [t["id"] for t in by_cursor["data"]]
    assert second["meta"]["page"] == 2
    assert second["meta"]["totalPages"] == -(-len(stored_traces(api)) // 4)
    assert not {t["id"] for t in first["data"]} & {t["id"] for t in second["data"]}


def test_get_has_the_trace_its_observations_and_scores(api: Api) -> None:
    trace = api.json(f"{TRACES}/{trace_id_of(1)}")

    assert trace["id"] == trace_id_of(1)
    assert trace["sessionId"] == "s1" and trace["userId"] == "u1"
    assert [o["id"] for o in trace["observations"]] == [span_id_of(1, 0), span_id_of(1, 1)]
    assert [o["type"] for o in trace["observations"]] == ["SPAN", "GENERATION"]
    assert trace["scores"] == []
    generation = trace["observations"][1]
    assert generation["usageDetails"] == {"input": 100, "output": 100, "total": 200}
    assert generation["model"] == "gpt-4o-mini"
    assert all(ISO_MS_Z.match(o["startTime"]) for o in trace["observations"])
    assert trace["errorCount"] == 1 and trace["observations"][0]["level"] == "ERROR"


def test_another_projects_trace_is_not_found(api: Api) -> None:
    b_only = trace_id_of(B_ONLY_INDEX)

    assert api.get(f"{TRACES}/{b_only}", headers=api.auth_b).status_code == 200
    assert api.get(f"{TRACES}/{b_only}").status_code == 404
    assert b_only not in listed_ids(api, "")
    assert api.delete(f"{TRACES}/{b_only}").status_code == 404


def test_delete_removes_the_trace_and_refolds_its_session(fresh_api: Api) -> None:
    api = fresh_api
    before = api.json("/api/public/sessions/s2")

    response = api.delete(f"{TRACES}/{before['traces'][0]['id']}")

    assert response.json() == {"message": "Trace deleted successfully"}
    assert api.get(f"{TRACES}/{before['traces'][0]['id']}").status_code == 404
    after = api.json("/api/public/sessions/s2")
    assert after["traceCount"] == before["traceCount"] - 1
    assert api.delete(f"{TRACES}/{before['traces'][0]['id']}").status_code == 404
    assert api.get(f"{TRACES}/{before['traces'][0]['id']}", headers=api.auth_b).status_code == 200


def test_bulk_delete(fresh_api: Api) -> None:
    api = fresh_api
    doomed = [trace_id_of(0), trace_id_of(1), trace_id_of(B_ONLY_INDEX)]

    response = api.delete_with_body(TRACES, {"traceIds": doomed})

    assert response.status_code == 200
    assert response.json()["deleted"] == 2  # B's trace is not A's to delete
    assert api.get(f"{TRACES}/{trace_id_of(0)}").status_code == 404
    assert api.get(f"{TRACES}/{trace_id_of(B_ONLY_INDEX)}", headers=api.auth_b).status_code == 200


@pytest.mark.parametrize(
    "body", [None, [], {"traceIds": []}, {"traceIds": "x"}, {"traceIds": [1]}, {"ids": ["a"]}]
)
def test_bulk_delete_refuses_a_bad_body(api: Api, body: Any) -> None:
    response = api.delete_with_body(TRACES, body)

    assert response.status_code == 400
    assert "traceIds" in response.json()["message"] or "JSON" in response.json()["message"]


# -- One large trace: the spliced answer against the decoded one -------------------------------

BIG_TRACE = "b16" * 10 + "00"
CHAT = json.dumps([{"role": "user", "content": 'Où est ma commande? 🚀\n"ord-1" ' * 60}])
STORED_TEXTS = (CHAT, '{"answer": "fine"}', '"quoted"', "plain words", None, " [1, 2.5] ", "")
METADATA = ({}, {"n": 3, "text": "ü", "deep": {"list": [1, None, True]}}, {"note": "NaN"})


def big_trace_observation(index: int) -> Observation:
    """One of 200 observations, every value varying over what stored text can be."""
    return make_full_observation(
        id=f"{index:016x}",
        trace_id=BIG_TRACE,
        parent_id=None if index == 0 else f"{0:016x}",
        is_root=index == 0,
        start_ns=START_NS + index * 1_000_003,
        end_ns=START_NS + index * 1_000_003 + 777_000,
        input=STORED_TEXTS[index % len(STORED_TEXTS)],
        output=STORED_TEXTS[(index + 3) % len(STORED_TEXTS)],
        metadata=METADATA[index % len(METADATA)],
        model_parameters=(None, '{"temperature": 0.2}', "0.7", "hot")[index % 4],
        usage=({}, {"input": 3, "output": 4.6})[index % 2],
        cost=({}, {"input": 0.5, "output": 0.25, "total": 0.75})[index % 2],
        cost_source=(None, "sdk")[index % 2],
        completion_start_ns=None if index % 5 else START_NS + index * 1_000_003 + 5,
        trace=TraceAttributes(session_id="big", input=CHAT, output='{"done": true}'),
    )


def add_big_trace(api: Api) -> None:
    observations = tuple(big_trace_observation(index) for index in range(200))
    score = Score("score-1", "quality", "NUMERIC", 0.5, None, START_NS, trace_id=BIG_TRACE)
    batch = MappedBatch(project_id=api.project_a, observations=observations, scores=(score,))
    api.store.write([batch])


def decoded_answer(api: Api, trace_id: str, groups: Collection[str]) -> Any:
    """The answer built the plain way: decoded records, parsed text, JSONResponse's encoding."""
    detail = api.store.get_trace_detail(api.project_a, trace_id)
    assert detail is not None
    shaped = trace_json(api.project_a, detail.trace, detail.io if "io" in groups else None)
    observations = detail.observations if "observations" in groups else ()
    shaped["observations"] = [observation_json(api.project_a, o) for o in observations]
    scores = trace_scores(api.store, api.project_a, [trace_id]) if "scores" in groups else []
    shaped["scores"] = [score_json(score, api.project_a) for score in scores]
    return json.loads(JSONResponse(shaped if "metrics" in groups else without_metrics(shaped)).body)


@pytest.mark.parametrize(
    "fields", ["", "core", "core,io", "core,observations", "core,scores,metrics"]
)
def test_a_200_observation_trace_is_answered_as_its_decoded_records_are(
    fresh_api: Api, fields: str
) -> None:
    add_big_trace(fresh_api)
    groups = fields.split(",") if fields else TRACE_FIELD_GROUPS

    answer = fresh_api.json(f"{TRACES}/{BIG_TRACE}?fields={fields}")

    expected = decoded_answer(fresh_api, BIG_TRACE, groups)
    assert answer == expected
    assert list(answer) == list(expected)
    assert [list(o) for o in answer["observations"]] == [list(o) for o in expected["observations"]]
    assert len(answer["observations"]) == (200 if "observations" in groups else 0)
