"""Query parameters of the read API, checked: a bad value is a 400 naming the parameter.

params = Params(request.query_params)
limit = params.integer("limit", default=50, low=1, high=MAX_PAGE_SIZE)
since = params.timestamp("fromTimestamp")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import QueryParams

from skein.errors import BadRequest
from skein.store.base import MAX_PAGE_SIZE

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
DEFAULT_LIMIT = 50
# Integers reach the database as 64-bit values; page numbers stay far below that times a page.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_PAGE_NUMBER = 10**12
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})


@dataclass(frozen=True, slots=True)
class Paging:
    """Page-number or cursor paging, as the request asked for it."""

    page: int
    limit: int
    cursor: str | None

    @property
    def offset(self) -> int:
        return 0 if self.cursor else (self.page - 1) * self.limit


class Params:
    """Typed access to a request's query string."""

    def __init__(self, query: QueryParams) -> None:
        self._query = query

    def text(self, name: str) -> str | None:
        value = self._query.get(name)
        return value if value else None

    def texts(self, name: str) -> tuple[str, ...]:
        """A repeatable parameter (`tags=a&tags=b`); a comma list in one value also splits."""
        values = [part for value in self._query.getlist(name) for part in value.split(",")]
        return tuple(v.strip() for v in values if v.strip())

    def integer(self, name: str, default: int, low: int, high: int | None = None) -> int:
        raw = self._query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"parameter '{name}' must be an integer, not {raw!r}") from None
        if value < low or value > (INT64_MAX if high is None else high):
            bounds = f"between {low} and {high}" if high is not None else f"{low} or more"
            raise BadRequest(f"parameter '{name}' must be {bounds}, not {value}")
        return value

    def optional_integer(self, name: str, low: int) -> int | None:
        return self.integer(name, -1, low) if self._query.get(name) else None

    def boolean(self, name: str) -> bool | None:
        raw = self._query.get(name)
        if raw is None or raw == "":
            return None
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise BadRequest(f"parameter '{name}' must be true or false, not {raw!r}")

    def timestamp(self, name: str) -> int | None:
        """An ISO 8601 time (a `Z` or offset; UTC when absent) as nanoseconds."""
        raw = self._query.get(name)
        return parse_timestamp(name, raw) if raw else None

    def choice(self, name: str, allowed: Sequence[str], default: str) -> str:
        raw = self._query.get(name) or default
        if raw not in allowed:
            raise BadRequest(f"parameter '{name}' must be one of {', '.join(allowed)}")
        return raw

    def paging(self, default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_PAGE_SIZE) -> Paging:
        return Paging(
            page=self.integer("page", 1, 1, MAX_PAGE_NUMBER),
            limit=self.integer("limit", default_limit, 1, max_limit),
            cursor=self.text("cursor"),
        )

    def fields(self, name: str, known: Sequence[str], default: Sequence[str]) -> frozenset[str]:
        """A comma list of field groups, each one of `known`."""
        asked = self.texts(name)
        unknown = [f for f in asked if f not in known]
        if unknown:
            raise BadRequest(
                f"parameter '{name}' has unknown group(s) {', '.join(unknown)};"
                f" known: {', '.join(known)}"
            )
        return frozenset(asked or default)

    def order(self, name: str, sorts: Mapping[str, str], default: str) -> tuple[str, bool]:
        """`field`, `field.asc` or `field.desc` → (store sort, descending); default desc."""
        raw = self._query.get(name) or default
        field, _, direction = raw.partition(".")
        if field not in sorts or direction not in ("", "asc", "desc"):
            raise BadRequest(
                f"parameter '{name}' must be FIELD, FIELD.asc or FIELD.desc with FIELD one of"
                f" {', '.join(sorts)}; not {raw!r}"
            )
        return sorts[field], direction != "asc"


def parse_timestamp(name: str, raw: str) -> int:
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise BadRequest(f"parameter '{name}' must be an ISO 8601 timestamp, not {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Nanoseconds are stored as 64-bit integers: times past 2262 (or before 1677) clamp.
    return min(max((moment - EPOCH) // MICROSECOND * 1000, INT64_MIN), INT64_MAX)


def page_meta(paging: Paging, total: int | None, next_cursor: str | None) -> dict[str, Any]:
    """Langfuse's `meta` of a page-numbered list, with Skein's cursor for the next page."""
    total_items = total or 0
    meta: dict[str, Any] = {
        "page": paging.page,
        "limit": paging.limit,
        "totalItems": total_items,
        "totalPages": -(-total_items // paging.limit),
    }
    if next_cursor:
        meta["nextCursor"] = next_cursor
    return meta
