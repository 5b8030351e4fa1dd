"""`/api/public/sessions`: list (Langfuse's parameters and Skein's sorts and filters), get
(rollups, paginated traces), delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from skein.api.shapes import iso
from skein.fold import SessionSummary
from skein.store.base import SessionQuery, TraceQuery
from tests.api.factories import B_ONLY_SESSION, Api, api, fresh_api
from tests.store.factories import make_batch
from tests.store.query_factories import DATASET_SESSIONS, TraceSpec, trace_id_of, trace_observations

__all__ = ["api", "fresh_api"]  # fixtures

SESSIONS = "/api/public/sessions"


def stored_sessions(api: Api) -> list[SessionSummary]:
    return list(api.store.query_sessions(api.project_a, SessionQuery(limit=1000)).items)


def listed_ids(api: Api, query: str) -> list[str]:
    return [s["id"] for s in api.json(f"{SESSIONS}?limit=100&{query}")["data"]]


def test_list_is_newest_created_first_with_the_required_fields(api: Api) -> None:
    body = api.json(SESSIONS)

    expected = sorted(stored_sessions(api), key=lambda s: (s.first_ns, s.session_id))[::-1]
    assert [s["id"] for s in body["data"]] == [s.session_id for s in expected]
    assert body["meta"]["totalItems"] == DATASET_SESSIONS
    for session in body["data"]:
        assert {"id", "createdAt", "projectId", "environment"} <= session.keys()
        assert session["projectId"] == api.project_a


def test_list_items_carry_the_rollups(api: Api) -> None:
    session = next(s for s in api.json(SESSIONS)["data"] if s["id"] == "s5")
    stored = api.store.get_session(api.project_a, "s5")

    assert stored is not None
    assert session["traceCount"] == stored.trace_count == 3
    assert session["totalCost"] == pytest.approx(stored.total_cost)
    assert session["usage"]["total"] == stored.total_tokens
    assert session["durationMs"] == (stored.last_ns - stored.first_ns) / 1e6
    assert session["errorCount"] == stored.error_count
    assert session["userIds"] == ["u1"] and session["sessionSources"] == ["session.id"]


ORDERS: list[tuple[str, Any]] = [
    ("lastActivity", lambda s: s.last_ns),
    ("firstActivity.asc", lambda s: s.first_ns),
    ("totalCost.desc", lambda s: s.total_cost),
    ("totalTokens", lambda s: s.total_tokens),
    ("duration.asc", lambda s: s.last_ns - s.first_ns),
    ("traceCount", lambda s: s.trace_count),
    ("errors", lambda s: s.error_count),
]


@pytest.mark.parametrize(("order_by", "key"), ORDERS)
def test_order_by(api: Api, order_by: str, key: Any) -> None:
    descending = not order_by.endswith(".asc")

    ids = listed_ids(api, f"orderBy={order_by}")

    expected = sorted(stored_sessions(api), key=lambda s: (key(s), s.session_id))
    assert ids == [s.session_id for s in (expected[::-1] if descending else expected)]


FILTERS: list[tuple[str, Any]] = [
    ("userId=u0", lambda s: "u0" in s.user_ids),
    ("tag=vip", lambda s: "vip" in s.tags),
    ("environment=production", lambda s: "production" in s.environments),
    ("hasErrors=true", lambda s: s.error_count > 0),
    ("hasErrors=false", lambda s: s.error_count == 0),
    ("minTraces=2", lambda s: s.trace_count >= 2),
    ("idPrefix=s1", lambda s: s.session_id.startswith("s1")),
    ("idContains=3", lambda s: "3" in s.session_id),
]


@pytest.mark.parametrize(("query", "keep"), FILTERS)
def test_filters(api: Api, query: str, keep: Any) -> None:
    expected = {s.session_id for s in stored_sessions(api) if keep(s)}

    body = api.json(f"{SESSIONS}?limit=100&{query}")

    assert {s["id"] for s in body["data"]} == expected
    assert body["meta"]["totalItems"] == len(expected)
    assert 0 < len(expected) < DATASET_SESSIONS


def test_time_range_selects_sessions_active_in_it(api: Api) -> None:
    sessions = sorted(stored_sessions(api), key=lambda s: s.first_ns)
    pivot = sessions[4]
    query = f"fromTimestamp={iso(pivot.first_ns)}&toTimestamp={iso(pivot.last_ns)}"

    expected = {
        s.session_id for s in sessions if s.last_ns >= pivot.first_ns and s.first_ns < pivot.last_ns
    }
    assert set(listed_ids(api, query)) == expected
    assert pivot.session_id in expected


def test_cursor_paging_walks_every_session_once(api: Api) -> None:
    seen: list[str] = []
    url = f"{SESSIONS}?limit=2&orderBy=totalCost"
    body = api.json(url)
    while True:
        seen.extend(s["id"] for s in body["data"])
        cursor = body["meta"].get("nextCursor")
        if cursor is None:
            break
        body = api.json(f"{url}&cursor={cursor}")

    assert sorted(seen) == sorted(s.session_id for s in stored_sessions(api))
    assert len(seen) == len(set(seen))


def test_get_has_the_rollups_and_the_traces_in_time_order(api: Api) -> None:
    session = api.json(f"{SESSIONS}/s5")

    traces = api.store.query_traces(api.project_a, TraceQuery(session_id="s5")).items
    assert [t["id"] for t in session["traces"]] == [
        t.trace_id for t in sorted(traces, key=lambda t: t.start_ns)
    ]
    assert session["traceCount"] == len(session["traces"]) == 3
    assert session["traces"][1]["input"] == "question 10"
    assert all(t["sessionId"] == "s5" for t in session["traces"])
    assert session["tracesMeta"]["totalItems"] == 3


def test_a_long_sessions_traces_come_in_pages(api: Api) -> None:
    everything = [t["id"] for t in api.json(f"{SESSIONS}/s5")["traces"]]

    first = api.json(f"{SESSIONS}/s5?tracesLimit=2")
    cursor = first["tracesMeta"]["nextCursor"]
    by_cursor = api.json(f"{SESSIONS}/s5?tracesLimit=2&tracesCursor={cursor}")
    by_page = api.json(f"{SESSIONS}/s5?tracesLimit=2&tracesPage=2")

    assert [t["id"] for t in first["traces"]] == everything[:2]
    assert [t["id"] for t in by_cursor["traces"]] == everything[2:]
    assert [t["id"] for t in by_page["traces"]] == everything[2:]
    assert "nextCursor" not in by_cursor["tracesMeta"]


def test_another_projects_session_is_not_found(api: Api) -> None:
    assert api.get(f"{SESSIONS}/{B_ONLY_SESSION}", headers=api.auth_b).status_code == 200
    assert api.get(f"{SESSIONS}/{B_ONLY_SESSION}").status_code == 404
    assert B_ONLY_SESSION not in listed_ids(api, "")
    assert api.delete(f"{SESSIONS}/{B_ONLY_SESSION}").status_code == 404


def test_delete_removes_the_session_and_all_its_traces(fresh_api: Api) -> None:
    api = fresh_api
    trace_ids = [t["id"] for t in api.json(f"{SESSIONS}/s5")["traces"]]

    response = api.delete(f"{SESSIONS}/s5")

    assert response.status_code == 200
    assert response.json()["deletedTraces"] == len(trace_ids) == 3
    assert api.get(f"{SESSIONS}/s5").status_code == 404
    assert all(api.get(f"/api/public/traces/{t}").status_code == 404 for t in trace_ids)
    assert api.get(f"{SESSIONS}/s5", headers=api.auth_b).status_code == 200
    assert api.delete(f"{SESSIONS}/s5").status_code == 404


def test_a_session_id_with_slashes_and_spaces_is_reachable(fresh_api: Api) -> None:
    api = fresh_api
    session_id = "team/alpha 1?x"
    spec = TraceSpec(index=700, session_id=session_id, start_s=3)
    api.store.write([make_batch(*trace_observations(spec), project_id=api.project_a)])
    url = f"{SESSIONS}/{quote(session_id, safe='')}"

    assert api.json(url)["id"] == session_id
    assert api.json(url)["traces"][0]["id"] == trace_id_of(700)
    assert api.delete(url).status_code == 200
    assert api.get(url).status_code == 404
