"""One OTLP request from body to a `MappedBatch`: decode, guard, map, apply rules and prices.

The same steps run in a worker thread of the server (`skein.ingest.receiver`) or in an
ingestion worker process (`skein.ingest.pool`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from skein.ingest.guards import cap_attributes, drop_foreign_spans
from skein.ingest.mapping import IngestContext, map_request
from skein.ingest.otlp import decode_request
from skein.prices import PriceCache, priced_batch
from skein.records import IngestWarning, MappedBatch
from skein.repair.rules import SessionRuleCache, ruled_batch
from skein.settings import Settings


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a request: the authenticated project and key, and what the headers say."""

    project_id: str
    public_key: str
    context: IngestContext


def decode_and_map(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    settings: Settings,
    sender: Sender,
    prices: PriceCache,
    session_rules: SessionRuleCache,
    prepare_write: Callable[[MappedBatch], None] | None = None,
) -> MappedBatch:
    """Everything a request needs before it is written; `prepare_write` lets the store do
    its lock-free part of the write in the same thread (SQLite: compressing text)."""
    decoded = decode_request(
        body, content_type, content_encoding, max_decoded_bytes=settings.max_decoded_bytes
    )
    decoded = drop_foreign_spans(decoded, sender.public_key)
    cut: tuple[IngestWarning, ...] = ()
    if _may_hold_long_values(body, content_encoding, settings.max_attribute_chars):
        decoded, cut = cap_attributes(decoded, settings.max_attribute_chars)
    batch = map_request(decoded, sender.project_id, sender.context)
    if cut:
        batch = replace(batch, warnings=batch.warnings + cut)
    batch = ruled_batch(batch, session_rules.keys(sender.project_id))
    batch = priced_batch(batch, prices.book(sender.project_id))
    if prepare_write is not None:
        prepare_write(batch)
    return batch


def _may_hold_long_values(body: bytes, content_encoding: str | None, limit: int) -> bool:
    """Whether any attribute value can be longer than `limit`: no value of an uncompressed
    body is longer than the body."""
    return (content_encoding or "identity").strip().lower() != "identity" or len(body) > limit
