from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from skein.records import MappedBatch
from tests.api.factories import Api, running_api
from tests.store.query_factories import TraceSpec, trace_id_of, trace_observations

PREFIX = "/api/public/skein"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, seeded=False) as opened:
        specs = [
            TraceSpec(0, session_id="a", user_id="u1", start_s=0),
            TraceSpec(1, session_id="a", user_id="u1", start_s=60),
            TraceSpec(2, user_id="u2", start_s=0),
            TraceSpec(3, user_id="u2", start_s=600),
            TraceSpec(4, user_id="u2", start_s=7200),
        ]
        observations = []
        for spec in specs:
            root, child = trace_observations(spec)
            if spec.index in (2, 3):
                root = replace(root, metadata={"chat": {"id": f"thread-{spec.index // 3}"}})
            observations += [root, child]
        opened.store.write([MappedBatch(opened.project_a, tuple(observations))])
        yield opened


def post(api: Api, path: str, body: object, **kwargs: object) -> tuple[int, dict[str, object]]:
    response = api.client.post(PREFIX + path, json=body, headers=kwargs.get("headers", api.auth_a))
    return response.status_code, response.json()


def session_of(api: Api, index: int) -> str | None:
    trace = api.store.get_trace(api.project_a, trace_id_of(index))
    assert trace is not None
    return trace.session_id


def test_key_backfill_dry_run_then_apply(api: Api) -> None:
    status, dry = post(api, "/sessions/backfill", {"key": "metadata.chat.id", "dryRun": True})
    assert status == 200 and dry["tracesToAssign"] == 2 and dry["sessions"] == 2
    assert dry["auditId"] is None and session_of(api, 2) is None
    status, done = post(api, "/sessions/backfill", {"key": "chat.id"})
    assert status == 200 and done["auditId"]
    assert (session_of(api, 2), session_of(api, 3)) == ("thread-0", "thread-1")
    status, again = post(api, "/sessions/backfill", {"key": "chat.id"})
    assert again["tracesToAssign"] == 0 and again["auditId"] is None


def test_infer_backfill_groups_by_user_and_gap(api: Api) -> None:
    status, done = post(api, "/sessions/backfill", {"gap": "30m"})
    assert status == 200, done
    assert session_of(api, 2) == session_of(api, 3) is not None
    assert session_of(api, 4) is None  # two hours later: a lone trace stays without a session
    assert session_of(api, 0) == "a"  # traces with a session are left alone


def test_edit_audit_and_undo_over_http(api: Api) -> None:
    status, entry = post(api, "/sessions/rename", {"sessionId": "a", "newSessionId": "b"})
    assert status == 200 and entry["actor"] == "pk-test-a" and entry["operation"] == "rename"
    assert session_of(api, 0) == "b"
    listed = api.json(f"{PREFIX}/audit", params={"sessionId": "a"})["data"]
    assert [e["id"] for e in listed] == [entry["id"]]
    status, undone = post(api, f"/audit/{entry['id']}/undo", {})
    assert status == 200 and undone["operation"] == "undo" and session_of(api, 0) == "a"
    status, again = post(api, f"/audit/{entry['id']}/undo", {})
    assert status == 409 and again["error"]["code"] == "conflict"


def test_edits_are_checked(api: Api) -> None:
    assert post(api, "/sessions/rename", {"sessionId": "zz", "newSessionId": "b"})[0] == 404
    assert (
        post(api, "/sessions/split", {"sessionId": "a", "atTurn": "1", "newSessionId": "b"})[0]
        == 400
    )
    assert post(api, "/sessions/move", {"traceIds": [trace_id_of(2)], "toSessionId": "a"})[0] == 200
    assert session_of(api, 2) == "a"
    assert post(api, "/sessions/backfill", {"key": "x", "gap": "30m"})[0] == 400
    assert api.client.get(PREFIX + "/audit/nope", headers=api.auth_a).status_code == 404


def test_other_projects_see_nothing(api: Api) -> None:
    status, entry = post(api, "/sessions/rename", {"sessionId": "a", "newSessionId": "b"})
    assert api.client.get(f"{PREFIX}/audit/{entry['id']}", headers=api.auth_b).status_code == 404
    assert (
        post(api, "/sessions/rename", {"sessionId": "b", "newSessionId": "c"}, headers=api.auth_b)[
            0
        ]
        == 404
    )


def test_metadata_key_rule_applies_to_new_spans(api: Api) -> None:
    response = api.client.put(
        PREFIX + "/session-rules",
        json={"rules": [{"kind": "metadata_key", "key": "conversation"}]},
        headers=api.auth_a,
    )
    assert response.status_code == 200
    assert api.json(PREFIX + "/session-rules")["rules"] == [
        {"kind": "metadata_key", "key": "conversation"}
    ]
    body = {
        "resourceSpans": [{"scopeSpans": [{"scope": {"name": "app"}, "spans": [{
            "traceId": "ab" * 16, "spanId": "cd" * 8, "name": "turn",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
            "attributes": [{"key": "conversation", "value": {"stringValue": "conv-9"}}],
        }]}]}]
    }  # fmt: skip
    sent = api.client.post("/api/public/otel/v1/traces", json=body, headers=api.auth_a)
    assert sent.status_code == 200
    trace = api.store.get_trace(api.project_a, "ab" * 16)
    assert trace is not None and trace.session_id == "conv-9"
    assert trace.session_source == "rule:key=conversation"
    bad = api.client.put(PREFIX + "/session-rules", json=[{"kind": "nope"}], headers=api.auth_a)
    assert bad.status_code == 400


def test_archive_over_http_round_trips_into_another_project(api: Api) -> None:
    post(api, "/sessions/rename", {"sessionId": "a", "newSessionId": "b"})
    response = api.client.get(PREFIX + "/archive", params={"sessionId": "b"}, headers=api.auth_a)
    assert response.status_code == 200
    archive = response.content
    for _ in range(2):
        imported = api.client.post(PREFIX + "/archive", content=archive, headers=api.auth_b)
        assert imported.status_code == 200, imported.text
    assert imported.json()["traces"] == 2 and imported.json()["assignmentsChanged"] == 0
    session = api.store.get_session(api.project_b, "b")
    assert session == api.store.get_session(api.project_a, "b")
    bad = api.client.post(PREFIX + "/archive", content=b"not json\n", headers=api.auth_b)
    assert bad.status_code == 400
