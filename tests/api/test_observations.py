"""`/api/public/observations` (v1) and `/api/public/v2/observations` (cursor, field groups)."""

from __future__ import annotations

from typing import Any

import pytest

from skein.records import Observation
from skein.store.base import ObservationQuery
from tests.api.factories import B_ONLY_INDEX, Api, api
from tests.store.factories import make_batch, make_observation
from tests.store.query_factories import span_id_of, trace_id_of

__all__ = ["api"]  # fixtures

V1 = "/api/public/observations"
V2 = "/api/public/v2/observations"


def stored(api: Api, **filters: Any) -> list[Observation]:
    query = ObservationQuery(limit=1000, **filters)
    return list(api.store.query_observations(api.project_a, query).items)


# -- v1 --------------------------------------------------------------------------------------


def test_v1_list_of_a_trace_has_the_required_fields(api: Api) -> None:
    body = api.json(f"{V1}?traceId={trace_id_of(3)}")

    assert {o["id"] for o in body["data"]} == {span_id_of(3, 0), span_id_of(3, 1)}
    assert body["meta"]["totalItems"] == 2
    required = {"id", "type", "startTime", "modelParameters", "input", "output", "usage"}
    required |= {"level", "usageDetails", "costDetails", "environment"}
    assert all(required <= o.keys() for o in body["data"])


def test_v1_list_is_newest_first_and_filters_by_type_in_any_case(api: Api) -> None:
    body = api.json(f"{V1}?type=generation&limit=100")

    starts = [o["startTime"] for o in body["data"]]
    assert starts == sorted(starts, reverse=True)
    assert {o["id"] for o in body["data"]} == {o.id for o in stored(api, type="GENERATION")}
    assert all(o["type"] == "GENERATION" for o in body["data"])


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("userId=u1", {"user_id": "u1"}),
        ("name=opening", {"name": "opening"}),
        (f"parentObservationId={span_id_of(4, 0)}", {"parent_id": span_id_of(4, 0)}),
        ("level=ERROR", {"level": "ERROR"}),
        ("environment=production", {"environment": ("production",)}),
    ],
)
def test_v1_filters(api: Api, query: str, filters: dict[str, Any]) -> None:
    body = api.json(f"{V1}?limit=100&{query}")

    expected = {(o.trace_id, o.id) for o in stored(api, **filters)}
    assert {(o["traceId"], o["id"]) for o in body["data"]} == expected
    assert expected


def test_v1_get_one(api: Api) -> None:
    body = api.json(f"{V1}/{span_id_of(4, 1)}")

    assert body["id"] == span_id_of(4, 1) and body["traceId"] == trace_id_of(4)
    assert body["input"] == "prompt" and body["usage"]["unit"] == "TOKENS"
    assert api.get(f"{V1}/{'f' * 16}").status_code == 404
    assert api.get(f"{V1}/{span_id_of(B_ONLY_INDEX, 0)}").status_code == 404
    assert api.get(f"{V1}/{span_id_of(B_ONLY_INDEX, 0)}", headers=api.auth_b).status_code == 200


# -- v2 --------------------------------------------------------------------------------------


def test_v2_default_groups_are_core_and_basic(api: Api) -> None:
    body = api.json(f"{V2}?traceId={trace_id_of(2)}")

    assert body["meta"] == {}
    root = next(o for o in body["data"] if o["parentObservationId"] is None)
    assert root["isRootObservation"] is True and root["name"] == "turn"
    assert root["sessionId"] == "s1" and root["userId"] == "u1"
    assert "input" not in root and "usageDetails" not in root and "metadata" not in root


def test_v2_session_filter_includes_spans_that_never_carried_the_id(api: Api) -> None:
    body = api.json(f"{V2}?sessionId=s2&fields=core,basic,io,usage&limit=100")

    expected = {o.id for o in stored(api, session_id="s2")}
    assert {o["id"] for o in body["data"]} == expected
    generations = [o for o in body["data"] if o["type"] == "GENERATION"]
    assert generations and all(o["sessionId"] == "s2" for o in generations)
    assert all(o["input"] == "prompt" for o in generations)  # raw text, as v2 answers
    assert all(o["usageDetails"]["total"] > 0 for o in generations)


def test_v2_cursor_walks_every_observation_once(api: Api) -> None:
    seen: list[str] = []
    body = api.json(f"{V2}?limit=7")
    while True:
        seen.extend(f"{o['traceId']}/{o['id']}" for o in body["data"])
        if "cursor" not in body["meta"]:
            break
        body = api.json(f"{V2}?limit=7&cursor={body['meta']['cursor']}")

    assert sorted(seen) == sorted(f"{o.trace_id}/{o.id}" for o in stored(api))


def test_v2_trace_context_and_root_filter(api: Api) -> None:
    body = api.json(f"{V2}?isRootObservation=true&fields=core,trace_context&sessionId=s0")

    assert [o["traceName"] for o in body["data"]] == ["opening"]
    assert body["data"][0]["tags"] == ["chat", "vip"]


def test_v2_metadata_is_cut_unless_expanded(api: Api) -> None:
    long_text = "x" * 500
    trace_id = "c" * 32
    api.store.write(
        [
            make_batch(
                make_observation(
                    trace_id=trace_id, id="c" * 16, metadata={"long": long_text, "keep": long_text}
                ),
                project_id=api.project_a,
            )
        ]
    )

    body = api.json(f"{V2}?traceId={trace_id}&fields=core,metadata&expandMetadata=keep")

    metadata = body["data"][0]["metadata"]
    assert metadata["keep"] == long_text
    assert metadata["long"] == long_text[:200]


def test_v2_refuses_parse_io_as_json(api: Api) -> None:
    response = api.get(f"{V2}?parseIoAsJson=true")

    assert response.status_code == 400
    assert "parseIoAsJson" in response.json()["message"]
