"""`/api/public/export/{sessions,traces}`: JSON, JSONL and CSV, streamed page by page."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from skein.api import export
from skein.store.base import SessionQuery, TraceQuery
from tests.api.factories import B_ONLY_SESSION, Api, api
from tests.store.query_factories import DATASET_SESSIONS

__all__ = ["api"]  # fixtures

EXPORT = "/api/public/export"


def rows_of(text: str, form: str) -> list[dict[str, Any]]:
    if form == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    if form == "json":
        loaded: list[dict[str, Any]] = json.loads(text)
        return loaded
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("form", export.FORMATS)
def test_sessions_export_has_one_row_per_session(api: Api, form: str) -> None:
    response = api.get(f"{EXPORT}/sessions?format={form}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(export.MEDIA_TYPES[form])
    assert response.headers["x-total-count"] == str(DATASET_SESSIONS)
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of(response.text, form)
    stored = api.store.query_sessions(api.project_a, SessionQuery(limit=100)).items
    assert {r["sessionId"] for r in rows} == {s.session_id for s in stored}
    assert B_ONLY_SESSION not in {r["sessionId"] for r in rows}
    by_id = {r["sessionId"]: r for r in rows}
    assert float(by_id["s5"]["totalCost"]) == pytest.approx(
        next(s.total_cost for s in stored if s.session_id == "s5")
    )


@pytest.mark.parametrize("form", export.FORMATS)
def test_traces_export_rows_carry_their_session_and_io(api: Api, form: str) -> None:
    rows = rows_of(api.get(f"{EXPORT}/traces?format={form}").text, form)

    stored = api.store.query_traces(api.project_a, TraceQuery(limit=100)).items
    assert [r["traceId"] for r in rows] == [t.trace_id for t in stored]
    missing = "" if form == "csv" else None
    assert [r["sessionId"] for r in rows] == [t.session_id or missing for t in stored]
    assert any(r["input"] == "question 2" for r in rows)


def test_csv_cells_hold_lists_as_json(api: Api) -> None:
    rows = rows_of(api.get(f"{EXPORT}/sessions?format=csv&tag=vip").text, "csv")

    assert rows and all("vip" in json.loads(r["tags"]) for r in rows)


def test_export_takes_the_list_filters(api: Api) -> None:
    rows = rows_of(api.get(f"{EXPORT}/traces?sessionId=s5&orderBy=timestamp.asc").text, "jsonl")

    assert [r["sessionId"] for r in rows] == ["s5"] * 3
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)


def test_an_empty_export_is_well_formed(api: Api) -> None:
    for form in export.FORMATS:
        text = api.get(f"{EXPORT}/sessions?format={form}&idPrefix=nothing").text
        assert rows_of(text, form) == []


def test_a_bad_format_is_refused(api: Api) -> None:
    response = api.get(f"{EXPORT}/traces?format=xml")

    assert response.status_code == 400
    assert "format" in response.json()["message"]


def test_pages_are_read_one_at_a_time(api: Api) -> None:
    pages = export.session_pages(api.store, api.project_a, SessionQuery(limit=2))

    sizes = [len(page) for page in pages]

    assert sizes == [2, 2, 2, 2, 1]
    traces = export.trace_pages(api.store, api.project_a, TraceQuery(limit=8))
    total = api.store.query_traces(api.project_a, TraceQuery()).total
    assert sum(len(page) for page in traces) == total
