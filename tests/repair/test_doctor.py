from __future__ import annotations

from skein.repair.doctor import recent_findings

CLEAN = {
    "traces": 10, "misplacedKeys": {}, "misplacedExamples": [], "childOnly": 0,
    "childOnlyExamples": [], "lonelyRoots": 0, "withoutSession": 0, "warnings": {},
}  # fmt: skip


def test_clean_recent_traces_are_ok() -> None:
    assert [f.severity for f in recent_findings(CLEAN)] == ["ok"]


def test_each_known_cause_is_named_with_its_fix() -> None:
    found = {**CLEAN, "misplacedKeys": {"session-id": 3}, "misplacedExamples": ["t1"],
             "childOnly": 2, "childOnlyExamples": ["t2"], "lonelyRoots": 8,
             "warnings": {"session_id_too_long": 1}}  # fmt: skip
    findings = {f.check: f for f in recent_findings(found)}
    assert findings["wrong key or case"].severity == "error"
    assert "--key session-id" in findings["wrong key or case"].fix
    assert findings["id not on the root span"].severity == "warning"
    assert "ContextExecutor" in findings["threads drop context"].fix
    assert "200 characters" in findings["ingestion warnings"].fix
