from __future__ import annotations

import pytest

from skein.errors import BadRequest
from skein.ui import filters

NOW = 1_700_000_000 * 1_000_000_000


def test_a_preset_range_counts_back_from_now() -> None:
    window = filters.time_range({"range": "24h"}, NOW)
    assert (window.key, window.from_ns, window.to_ns) == ("24h", NOW - 86_400 * 10**9, None)


def test_a_custom_range_reads_utc_datetimes() -> None:
    window = filters.time_range({"from": "2023-11-14T22:13", "to": "2023-11-15"}, NOW)
    assert window.key == "custom"
    assert window.from_ns == (1_700_000_000 - 20) * 10**9
    assert window.to_ns is not None and window.to_ns > window.from_ns
    assert filters.time_range({}, NOW) == filters.TimeRange("", None, None)


def test_a_bad_date_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        filters.time_range({"from": "yesterday"}, NOW)


def test_sort_and_toggling() -> None:
    sort = filters.sort_of({"sort": "cost"}, ("cost", "tokens"), "tokens")
    assert sort == filters.Sort("cost", True)
    assert sort.toggled("cost") == "cost:asc" and sort.toggled("tokens") == "tokens"
    ascending = filters.sort_of({"sort": "cost:asc"}, ("cost",), "cost")
    assert not ascending.descending and ascending.toggled("cost") == "cost"
    assert filters.sort_of({"sort": "nope"}, ("cost",), "cost") == filters.Sort("cost", True)


def test_text_flag_and_page() -> None:
    assert filters.text({"q": "  x "}, "q") == "x" and filters.text({"q": " "}, "q") is None
    assert filters.flag({"errors": "1"}, "errors") and not filters.flag({}, "errors")
    assert filters.page_number({"page": "3"}) == 3
    assert filters.page_number({"page": "-2"}) == 1 and filters.page_number({"page": "x"}) == 1
