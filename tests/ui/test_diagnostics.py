from __future__ import annotations

from skein.fold import TraceSummary
from skein.records import IngestWarning
from skein.store.base import Coverage, SessionConflict, StoredWarning
from skein.ui.diagnostics import ERROR, INFO, OK, WARNING, Unsessioned, _suspicious, findings


def coverage(traces: int, in_session: int, observations: int = 10, carrying: int = 10) -> Coverage:
    return Coverage("", traces, in_session, observations, observations, carrying, 0, 0, 0.0, 0.0)


def test_no_session_anywhere_is_an_error() -> None:
    (finding,) = findings(coverage(5, 0, carrying=0), (), (), ())
    assert finding.severity == ERROR and "None of the 5 traces" in finding.text


def test_everything_in_sessions_is_fine() -> None:
    assert [f.severity for f in findings(coverage(5, 5), (), (), ())] == [OK]


def test_inherited_spans_conflicts_warnings_and_hints_are_reported_worst_first() -> None:
    trace = TraceSummary("t" * 32, 0, 1, metadata={"SessionID": "x"})
    warning = StoredWarning("p", 1, IngestWarning("t" * 32, None, "session_id_too_long", "…"))
    found = findings(
        coverage(4, 3, observations=10, carrying=4),
        (SessionConflict("c" * 32, 0, "a", ("a", "b")),),
        (Unsessioned(trace, ("SessionID",)),),
        (warning,),
    )
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=[ERROR, WARNING, INFO, OK].index)
    text = " ".join(f.text for f in found)
    assert "“SessionID”" in text and "1 of 4 traces (25%)" in text
    assert "6 spans in sessions (60%) did not carry the session id" in text
    assert "1 traces carried more than one session id" in text


def test_keys_that_look_like_session_ids_but_are_not_read() -> None:
    metadata = {"SessionID": 1, "sessionId": 2, "chat_id": 3, "threadKey": 4, "model": 5}
    assert sorted(_suspicious(metadata)) == ["SessionID", "chat_id", "threadKey"]
    assert list(_suspicious({"langfuse.trace.metadata.session_id": 1})) == []
