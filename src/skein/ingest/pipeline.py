"""One OTLP request from body to a `MappedBatch`: decode, guard, map, apply rules and prices.

The same steps run in a worker thread of the server (`skein.ingest.receiver`) or in an
ingestion worker process (`skein.ingest.pool`); each holds one `Pipeline`.
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
from skein.store.base import Store


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a request: the authenticated project and key, and what the headers say."""

    project_id: str
    public_key: str
    context: IngestContext


@dataclass(frozen=True, slots=True)
class OtlpRequest:
    """What the pipeline needs of one OTLP/HTTP request: its body as sent and who sent it."""

    body: bytes
    content_type: str | None
    content_encoding: str | None
    sender: Sender


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The settings and caches a request is mapped with, and the store's optional
    `prepare_write`: the lock-free part of its write, done in the same thread (SQLite:
    compressing text, encoding rows, folding the batch's traces)."""

    settings: Settings
    prices: PriceCache
    session_rules: SessionRuleCache
    prepare_write: Callable[[MappedBatch], None] | None = None

    @classmethod
    def of(
        cls, settings: Settings, store: Store, prices: PriceCache, rules: SessionRuleCache
    ) -> Pipeline:
        return cls(settings, prices, rules, getattr(store, "prepare_write", None))

    def run(self, request: OtlpRequest) -> MappedBatch:
        """Everything a request needs before it is written."""
        sender = request.sender
        decoded = decode_request(
            request.body,
            request.content_type,
            request.content_encoding,
            max_decoded_bytes=self.settings.max_decoded_bytes,
        )
        decoded = drop_foreign_spans(decoded, sender.public_key)
        cut: tuple[IngestWarning, ...] = ()
        limit = self.settings.max_attribute_chars
        if _may_hold_long_values(request.body, request.content_encoding, limit):
            decoded, cut = cap_attributes(decoded, limit)
        batch = map_request(decoded, sender.project_id, sender.context)
        if cut:
            batch = replace(batch, warnings=batch.warnings + cut)
        batch = ruled_batch(batch, self.session_rules.keys(sender.project_id))
        batch = priced_batch(batch, self.prices.book(sender.project_id))
        if self.prepare_write is not None:
            self.prepare_write(batch)
        return batch


def _may_hold_long_values(body: bytes, content_encoding: str | None, limit: int) -> bool:
    """Whether any attribute value can be longer than `limit`: no value of an uncompressed
    body is longer than the body."""
    return (content_encoding or "identity").strip().lower() != "identity" or len(body) > limit
