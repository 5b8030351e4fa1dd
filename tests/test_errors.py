"""Skein's errors survive pickling whole (an ingestion worker process raises them)."""

from __future__ import annotations

import pickle

from skein.errors import BadRequest, Overloaded, PayloadTooLarge, SkeinError


def round_trip(error: SkeinError) -> SkeinError:
    restored = pickle.loads(pickle.dumps(error))
    assert isinstance(restored, SkeinError)
    return restored


def test_type_status_message_and_details_survive() -> None:
    restored = round_trip(BadRequest("spans must be a list", details={"index": 3}))
    assert type(restored) is BadRequest and restored.status == 400
    assert (restored.message, str(restored)) == ("spans must be a list",) * 2
    assert restored.details == {"index": 3}


def test_retry_after_survives() -> None:
    restored = round_trip(Overloaded("queue full", retry_after=7))
    assert isinstance(restored, Overloaded) and restored.retry_after == 7
    assert restored.headers() == Overloaded("x", retry_after=7).headers()


def test_an_error_without_extra_state_round_trips() -> None:
    restored = round_trip(PayloadTooLarge("too big"))
    assert type(restored) is PayloadTooLarge
    assert (restored.message, restored.details) == ("too big", None)
