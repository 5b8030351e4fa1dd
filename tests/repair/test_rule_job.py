from __future__ import annotations

from pathlib import Path

from skein.repair.model import SessionRule
from skein.repair.rule_job import run_infer_rules
from tests.repair.factories import open_test_store, session_of, write_specs
from tests.store.factories import PROJECT_ID, START_NS
from tests.store.query_factories import TraceSpec


def test_infer_rule_extends_its_sessions_as_turns_arrive(tmp_path: Path) -> None:
    store = open_test_store(tmp_path)
    try:
        now = START_NS + 3600 * 10**9
        write_specs(
            store, [TraceSpec(0, user_id="u", start_s=0), TraceSpec(1, user_id="u", start_s=60)]
        )
        assert run_infer_rules(store, now) == 0  # no rule yet
        store.set_session_rules(PROJECT_ID, [SessionRule("infer", gap_seconds=600)])
        assert run_infer_rules(store, now) == 2
        first = session_of(store, 0)
        assert first is not None and session_of(store, 1) == first
        write_specs(store, [TraceSpec(2, user_id="u", start_s=300)])
        assert run_infer_rules(store, now) == 1
        assert session_of(store, 2) == first
        assert run_infer_rules(store, now) == 0
        assert [e.actor for e in store.list_audit(PROJECT_ID)] == ["rule", "rule"]
    finally:
        store.close()
