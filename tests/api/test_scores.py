"""The score endpoints in process: create one or many, list (v2 and v3 shapes), get, delete,
project isolation, and the session aggregates they feed."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skein.errors import error_body
from skein.records import MappedBatch, TraceAttributes
from tests.api.factories import Api, running_api
from tests.store.factories import make_observation

SCORES = "/api/public/scores"
TRACE = "a" * 32


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, seeded=False) as opened:
        trace = TraceAttributes(session_id="chat", session_source="session.id")
        for project in (opened.project_a, opened.project_b):
            observation = make_observation(trace_id=TRACE, trace=trace)
            opened.store.write([MappedBatch(project, (observation,))])
        yield opened


def create(api: Api, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.client.post(SCORES, json=body, headers=headers or api.auth_a)


def score(name: str = "quality", value: Any = 0.5, **fields: Any) -> dict[str, Any]:
    return {"name": name, "value": value, "traceId": TRACE, **fields}


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body == error_body(status, body["error"]["code"], body["message"])


def test_one_score_is_created_and_read_back(api: Api) -> None:
    response = create(api, score(id="s1", comment="fine", timestamp="2024-05-01T12:00:00Z"))

    assert (response.status_code, response.json()) == (200, {"id": "s1"})
    got = api.json(f"{SCORES}/s1")
    assert got["id"] == "s1" and got["projectId"] == api.project_a
    assert (got["traceId"], got["name"], got["value"], got["dataType"]) == (
        TRACE, "quality", 0.5, "NUMERIC")  # fmt: skip
    assert (got["comment"], got["source"], got["timestamp"]) == (
        "fine", "API", "2024-05-01T12:00:00.000Z")  # fmt: skip
    assert api.json("/api/public/v2/scores/s1") == got


def test_an_id_is_generated_when_none_is_sent(api: Api) -> None:
    score_id = create(api, score()).json()["id"]

    assert score_id and api.json(f"{SCORES}/{score_id}")["name"] == "quality"


def test_an_array_is_accepted_whole_or_answered_per_score(api: Api) -> None:
    whole = create(api, [score(id="a"), score(id="b", value="yes", sessionId="chat",
                                              traceId=None)])  # fmt: skip
    partial = create(
        api, [score(id="c"), {"id": "d", "value": 1, "traceId": TRACE}, score(id="e", value=None)]
    )

    assert (whole.status_code, whole.json()) == (202, {"message": "Accepted"})
    assert partial.status_code == 207
    body = partial.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [(e["index"], e["id"]) for e in body["errors"]] == [(1, "d"), (2, "e")]
    assert "name is required" in body["errors"][0]["message"]
    assert api.get(f"{SCORES}/c").status_code == 200
    assert api.get(f"{SCORES}/d").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        score(value=None),
        score(traceId=None),
        score(sessionId="chat"),
        score(dataType="TEXT"),
        score(value=3, dataType="BOOLEAN"),
        "not an object",
    ],
)
def test_a_bad_score_gets_400(api: Api, body: Any) -> None:
    assert_error(create(api, body), 400)


def test_a_body_that_is_not_json_gets_400(api: Api) -> None:
    response = api.client.post(SCORES, content=b"{", headers=api.auth_a)

    assert_error(response, 400)


def test_scores_belong_to_the_project_that_wrote_them(api: Api) -> None:
    create(api, score(id="mine"))

    assert_error(api.get(f"{SCORES}/mine", headers=api.auth_b), 404)
    assert_error(api.delete(f"{SCORES}/mine", headers=api.auth_b), 404)
    assert api.json(SCORES, headers=api.auth_b)["data"] == []
    assert api.get(f"{SCORES}/mine").status_code == 200


def test_deleting_a_score(api: Api) -> None:
    create(api, score(id="s1"))

    response = api.delete(f"{SCORES}/s1")

    assert response.status_code == 200 and response.json() == {"message": "Score deleted"}
    assert_error(api.get(f"{SCORES}/s1"), 404)
    assert_error(api.delete(f"{SCORES}/s1"), 404)


def test_session_rollups_show_the_score_aggregates(api: Api) -> None:
    create(api, [score(id="a", value=0.2), score(id="b", value=0.6),
                 score(id="c", name="mood", value="happy", traceId=None, sessionId="chat"),
                 score(id="d", name="ok", value=True, observationId="o1")])  # fmt: skip

    session = api.store.get_session(api.project_a, "chat")
    assert session is not None
    quality = session.scores["quality"]
    assert (quality.count, quality.minimum, quality.maximum) == (2, 0.2, 0.6)
    assert quality.average == pytest.approx(0.4)
    assert dict(session.scores["mood"].values) == {"happy": 1}
    assert dict(session.scores["ok"].values) == {"True": 1}
    api.delete(f"{SCORES}/c")
    session = api.store.get_session(api.project_a, "chat")
    assert session is not None and "mood" not in session.scores
    other = api.store.get_session(api.project_b, "chat")
    assert other is not None and other.scores == {}


# -- Lists -----------------------------------------------------------------------------------


def seed_list(api: Api) -> None:
    create(api, [
        score(id="n1", timestamp="2024-05-01T12:00:01Z"),
        score(id="c1", name="mood", value="happy", timestamp="2024-05-01T12:00:02Z"),
        score(id="b1", name="ok", value=False, observationId="o1",
              timestamp="2024-05-01T12:00:03Z"),
        score(id="s1", traceId=None, sessionId="chat", timestamp="2024-05-01T12:00:04Z"),
    ])  # fmt: skip


@pytest.mark.parametrize("path", [SCORES, "/api/public/v2/scores"])
@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("", ["s1", "b1", "c1", "n1"]),
        ("?traceId=" + TRACE, ["b1", "c1", "n1"]),
        ("?sessionId=chat", ["s1"]),
        ("?observationId=o1", ["b1"]),
        ("?name=mood", ["c1"]),
        ("?dataType=boolean", ["b1"]),
        ("?fromTimestamp=2024-05-01T12:00:02Z&toTimestamp=2024-05-01T12:00:04Z", ["b1", "c1"]),
        ("?scoreIds=n1,s1", ["s1", "n1"]),
    ],
)
def test_lists_filter_newest_first(api: Api, path: str, query: str, ids: list[str]) -> None:
    seed_list(api)

    body = api.json(path + query)

    assert [s["id"] for s in body["data"]] == ids
    assert body["meta"] == {"page": 1, "limit": 50, "totalItems": len(ids), "totalPages": 1}


def test_list_pages_by_number(api: Api) -> None:
    seed_list(api)

    body = api.json(f"{SCORES}?limit=3&page=2")

    assert [s["id"] for s in body["data"]] == ["n1"]
    assert body["meta"] == {"page": 2, "limit": 3, "totalItems": 4, "totalPages": 2}


def test_v2_values_are_numbers_with_a_string_value(api: Api) -> None:
    seed_list(api)

    by_id = {s["id"]: s for s in api.json(SCORES)["data"]}

    assert (by_id["c1"]["value"], by_id["c1"]["stringValue"]) == (0, "happy")
    assert (by_id["b1"]["value"], by_id["b1"]["stringValue"]) == (0, "False")
    assert "stringValue" not in by_id["n1"]


def test_v3_values_are_typed_with_a_subject_and_a_cursor(api: Api) -> None:
    seed_list(api)

    first = api.json("/api/public/v3/scores?limit=3&fields=details,subject")
    second = api.json(f"/api/public/v3/scores?limit=3&cursor={first['meta']['cursor']}")

    values = {s["id"]: (s["value"], s["subject"]) for s in [*first["data"], *second["data"]]}
    assert values == {
        "s1": (0.5, {"kind": "session", "id": "chat"}),
        "b1": (False, {"kind": "observation", "id": "o1", "traceId": TRACE}),
        "c1": ("happy", {"kind": "trace", "id": TRACE}),
        "n1": (0.5, {"kind": "trace", "id": TRACE}),
    }
    assert len(first["data"]) == 3 and "cursor" not in second["meta"]
    assert (
        api.json("/api/public/v3/scores?name=quality,mood&dataType=NUMERIC")["data"][0]["id"]
        == "s1"
    )


@pytest.mark.parametrize(
    "query",
    [
        "/api/public/v3/scores?observationId=o1",
        "/api/public/v3/scores?cursor=!!!",
        "/api/public/v3/scores?cursor=" + base64.urlsafe_b64encode(b'{"offset": -1}').decode(),
        "/api/public/v3/scores?fields=everything",
        "/api/public/v3/scores?limit=101",
        f"{SCORES}?userId=u1",
        f"{SCORES}?dataType=TEXT",
        f"{SCORES}?fromTimestamp=yesterday",
        f"{SCORES}?page=0",
    ],
)
def test_bad_list_parameters_get_400(api: Api, query: str) -> None:
    assert_error(api.get(query), 400)
