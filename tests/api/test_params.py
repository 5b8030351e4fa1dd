"""Query parameter parsing: values, defaults, bounds, and 400s that name the parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.datastructures import QueryParams

from skein.api.params import Paging, Params, page_meta, parse_timestamp
from skein.errors import BadRequest


def params(query: str) -> Params:
    return Params(QueryParams(query))


def ns(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", ns(2024, 5, 1, 12)),
        ("2024-05-01T12:00:00.250Z", ns(2024, 5, 1, 12) + 250_000_000),
        ("2024-05-01T14:00:00+02:00", ns(2024, 5, 1, 12)),
        ("2024-05-01T14:00:00 02:00", ns(2024, 5, 1, 12)),  # '+' decoded to a space
        ("2024-05-01T12:00:00", ns(2024, 5, 1, 12)),  # no zone: UTC
        ("2024-05-01", ns(2024, 5, 1)),
    ],
)
def test_timestamps(text: str, expected: int) -> None:
    assert parse_timestamp("fromTimestamp", text) == expected


def test_a_bad_timestamp_names_its_parameter() -> None:
    with pytest.raises(BadRequest, match="'toTimestamp'"):
        params("toTimestamp=soon").timestamp("toTimestamp")


def test_integers_have_defaults_and_bounds() -> None:
    assert params("").integer("limit", 50, 1, 100) == 50
    assert params("limit=7").integer("limit", 50, 1, 100) == 7
    for bad in ("limit=0", "limit=101", "limit=x", "limit=1.5"):
        with pytest.raises(BadRequest, match="'limit'"):
            params(bad).integer("limit", 50, 1, 100)


def test_repeated_and_comma_separated_values() -> None:
    assert params("tags=a&tags=b,c&tags=").texts("tags") == ("a", "b", "c")


def test_booleans() -> None:
    assert params("x=true").boolean("x") is True
    assert params("x=0").boolean("x") is False
    assert params("").boolean("x") is None
    with pytest.raises(BadRequest, match="'x'"):
        params("x=maybe").boolean("x")


def test_order_by() -> None:
    sorts = {"timestamp": "timestamp", "totalCost": "cost"}

    assert params("").order("orderBy", sorts, "timestamp.desc") == ("timestamp", True)
    assert params("orderBy=totalCost.asc").order("orderBy", sorts, "x") == ("cost", False)
    assert params("orderBy=totalCost").order("orderBy", sorts, "x") == ("cost", True)
    with pytest.raises(BadRequest, match="'orderBy'"):
        params("orderBy=totalCost.up").order("orderBy", sorts, "x")


def test_fields_default_and_unknown() -> None:
    assert params("").fields("fields", ("a", "b"), ("a",)) == {"a"}
    assert params("fields=a,b").fields("fields", ("a", "b"), ("a",)) == {"a", "b"}
    with pytest.raises(BadRequest, match="'fields'"):
        params("fields=a,z").fields("fields", ("a", "b"), ("a",))


def test_paging_turns_pages_into_offsets_unless_a_cursor_is_given() -> None:
    assert params("page=3&limit=10").paging().offset == 20
    assert params("page=3&limit=10&cursor=abc").paging().offset == 0


def test_page_meta() -> None:
    meta = page_meta(Paging(page=2, limit=10, cursor=None), 21, "next")

    assert meta == {"page": 2, "limit": 10, "totalItems": 21, "totalPages": 3, "nextCursor": "next"}
    assert "nextCursor" not in page_meta(Paging(1, 10, None), 0, None)
