from __future__ import annotations

import argparse

import pytest

from skein.cli import build_parser
from skein.cli_sessions import backfill_body, describe_backfill, edit_body


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["sessions", *argv])


def test_backfill_flags_become_the_request() -> None:
    args = parse("backfill", "--infer-gap", "45m", "--confirm-history", "--from", "2025-01-01")
    assert backfill_body(args) == {
        "gap": "45m",
        "confirmHistory": True,
        "fromTimestamp": "2025-01-01",
    }
    assert backfill_body(parse("backfill", "--key", "a.b")) == {"key": "a.b"}


def test_backfill_needs_exactly_one_way(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("backfill", "--key", "k", "--infer-gap", "30m")
    with pytest.raises(SystemExit):
        parse("backfill")
    capsys.readouterr()


def test_edit_flags_become_bodies() -> None:
    assert edit_body("merge", parse("merge", "--into", "t", "a", "b")) == {
        "sessionIds": ["a", "b"], "into": "t",
    }  # fmt: skip
    split = parse("split", "s", "--at-turn", "2", "--new-id", "s2")
    assert edit_body("split", split) == {"sessionId": "s", "atTurn": 2, "newSessionId": "s2"}
    assert edit_body("move", parse("move", "t1", "t2")) == {
        "traceIds": ["t1", "t2"],
        "toSessionId": None,
    }


def test_backfill_description_lists_examples() -> None:
    result = {"source": "backfill:key=k", "tracesScanned": 9, "tracesToAssign": 4, "sessions": 2,
              "examples": [{"sessionId": "s", "traceCount": 3, "traceIds": ["a", "b", "c"]}],
              "auditId": "e1"}  # fmt: skip
    text = describe_backfill(result, applied=True)
    assert "assigned 4 of them to 2 sessions" in text and "s: 3 traces" in text
    assert "skein sessions undo e1" in text
    assert "would assign" in describe_backfill(result, applied=False)
