"""A project's session rules, and applying them to new spans.

    [{"kind": "metadata_key", "key": "conversation"},   # at ingestion, in the mapping path
     {"kind": "infer", "gap": "30m"}]                   # after the write, by a periodic job

A "metadata_key" rule gives a span without a session id the value at its key (see
`skein.repair.keys`), with session source `rule:key=<key>`; the first rule that finds a
value wins. It runs where the span is mapped (OTLP and Langfuse batch ingestion), with the
rules read through `SessionRuleCache` (a store read at most every CACHE_SECONDS per project).
"infer" rules run in `skein.repair.rule_job`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from skein.records import MappedBatch, Observation
from skein.repair.durations import parse_duration
from skein.repair.keys import find_session_id
from skein.repair.model import RULE_KINDS, SessionRule

CACHE_SECONDS = 10.0
RULE_SOURCE_PREFIX = "rule:key="
MAX_RULES = 20


class RuleError(ValueError):
    """Rules that cannot be used (the message says why)."""


class RuleSource(Protocol):
    def get_session_rules(self, project_id: str) -> list[dict[str, Any]]: ...


def parse_rules(data: Any) -> list[SessionRule]:
    """Rules from their JSON form (a list of objects); RuleError when one is not usable."""
    if not isinstance(data, list) or len(data) > MAX_RULES:
        raise RuleError(f"rules must be a list of at most {MAX_RULES} objects")
    return [parse_rule(item) for item in data]


def parse_rule(item: Any) -> SessionRule:
    if not isinstance(item, Mapping) or item.get("kind") not in RULE_KINDS:
        raise RuleError(f"a rule is an object whose kind is one of {', '.join(RULE_KINDS)}")
    if item["kind"] == "metadata_key":
        key = item.get("key")
        if not isinstance(key, str) or not key.strip():
            raise RuleError("a metadata_key rule needs a non-empty key")
        return SessionRule("metadata_key", key=key.strip())
    return SessionRule(
        "infer", gap_seconds=_gap(item), confirm_history=bool(item.get("confirmHistory"))
    )


def _gap(item: Mapping[str, Any]) -> float:
    raw = item.get("gapSeconds", item.get("gap", "30m"))
    try:
        return parse_duration(str(raw))
    except ValueError as error:
        raise RuleError(str(error)) from None


def key_rules(rules: Sequence[SessionRule]) -> tuple[str, ...]:
    return tuple(r.key for r in rules if r.kind == "metadata_key" and r.key)


def apply_key_rules(observation: Observation, keys: Sequence[str]) -> Observation:
    """The observation with a session id from the first key that has one, if it had none."""
    if not keys or observation.trace.session_id is not None:
        return observation
    maps = (observation.trace.metadata, observation.metadata)
    for key in keys:
        found = find_session_id(maps, key)
        if found is not None:
            trace = replace(
                observation.trace, session_id=found, session_source=RULE_SOURCE_PREFIX + key
            )
            return replace(observation, trace=trace)
    return observation


def ruled_batch(batch: MappedBatch, keys: Sequence[str]) -> MappedBatch:
    """A mapped batch whose spans went through the project's key rules."""
    if not keys or not batch.observations:
        return batch
    return replace(batch, observations=tuple(apply_key_rules(o, keys) for o in batch.observations))


def ruled_pricing(
    pricing: Callable[[Observation], Observation], keys: Sequence[str]
) -> Callable[[Observation], Observation]:
    """A MappedBatch `pricing` step that applies the key rules too (Langfuse events)."""
    if not keys:
        return pricing
    return lambda observation: apply_key_rules(pricing(observation), keys)


class SessionRuleCache:
    """Each project's metadata-key rules, read from the store at most every CACHE_SECONDS."""

    def __init__(
        self,
        source: RuleSource,
        *,
        seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._seconds = seconds
        self._clock = clock
        self._keys: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def keys(self, project_id: str) -> tuple[str, ...]:
        now = self._clock()
        with self._lock:
            cached = self._keys.get(project_id)
        if cached is not None and now - cached[0] < self._seconds:
            return cached[1]
        keys = key_rules(parse_rules(self._source.get_session_rules(project_id)))
        with self._lock:
            self._keys[project_id] = (now, keys)
        return keys

    def invalidate(self, project_id: str) -> None:
        with self._lock:
            self._keys.pop(project_id, None)
