"""Checks between decoding and mapping that protect the store and other projects.

- `drop_foreign_spans`: the Langfuse Python SDK names its project's public key in the
  instrumentation scope's `public_key` attribute. Spans whose scope names another key than
  the one that authenticated the request are dropped (as Langfuse does) and reported as
  rejected, so one project's key never writes spans meant for another project.
- `cap_attributes`: a string (or bytes) attribute value longer than the limit is cut to the
  limit and marked; the span is kept and a warning names the attribute. This applies to span,
  event, resource and scope attributes, at any depth of arrays and maps.
- `cap_patches`: the same for the values of Langfuse batch events (`/api/public/ingestion`):
  input, output, names, and metadata at any depth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import length_hint
from typing import Any

from skein.ingest.mapping import request_indexes
from skein.patches import TRACE
from skein.records import (
    Attributes,
    AttributeValue,
    DecodedRequest,
    EventPatch,
    IngestWarning,
    RejectedSpan,
    Resource,
    Span,
    SpanEvent,
)

SCOPE_PUBLIC_KEY = "public_key"
# Values of batch events that are never cut: cutting an id would file the value elsewhere.
PATCH_ID_FIELDS = frozenset({"trace_id", "parent_id", "session_id", "user_id"})
TRUNCATED_CODE = "attribute_truncated"
# Value types `_Capper.value` returns unchanged whatever their size; with str and bytes, those it
# judges by their length alone.
_NEVER_CUT_TYPES = frozenset({bool, int, float, type(None)})
_PLAIN_TYPES = _NEVER_CUT_TYPES | {str, bytes}
_PLAIN_OR_LIST_TYPES = _PLAIN_TYPES | {list}


def truncation_marker(length: int) -> str:
    """What follows a cut value: how long the value was."""
    return f"…[truncated by Skein: {length} characters]"


# -- Spans sent for another project ------------------------------------------------------------


def drop_foreign_spans(decoded: DecodedRequest, public_key: str) -> DecodedRequest:
    """The request without spans whose scope `public_key` attribute names another key."""
    if not any(_is_foreign(span.resource, public_key) for span in decoded.spans):
        return decoded
    kept: list[Span] = []
    rejected = list(decoded.rejected)
    indexes = request_indexes(len(decoded.spans), decoded.rejected)
    for index, span in zip(indexes, decoded.spans, strict=True):
        if _is_foreign(span.resource, public_key):
            rejected.append(RejectedSpan(index, _foreign_reason(), span.trace_id, span.span_id))
        else:
            kept.append(span)
    rejected.sort(key=lambda item: item.index)
    return DecodedRequest(tuple(kept), tuple(rejected))


def _is_foreign(resource: Resource, public_key: str) -> bool:
    sent = resource.scope_attributes.get(SCOPE_PUBLIC_KEY)
    return isinstance(sent, str) and bool(sent) and sent != public_key


def _foreign_reason() -> str:
    return "the span's scope public_key is not the key this request authenticated with"


# -- Oversized attribute values ------------------------------------------------------------------


@dataclass(slots=True)
class _Capper:
    """Cuts long values of one request; resources shared by spans are cut once."""

    limit: int
    warnings: list[IngestWarning] = field(default_factory=list)
    resources: dict[int, Resource] = field(default_factory=dict)

    def span(self, span: Span) -> Span:
        cut: list[str] = []
        attributes = self.attributes(span.attributes, cut)
        events = tuple([self.event(event, cut) for event in span.events]) if span.events else ()
        resource = self.resource(span.resource, cut)
        for key in cut:
            message = f"attribute {key!r} was longer than {self.limit} characters; it was cut"
            self.warnings.append(
                IngestWarning(span.trace_id, span.span_id, TRUNCATED_CODE, message)
            )
        if not cut and resource is span.resource:
            return span
        return replace(span, attributes=attributes, events=events, resource=resource)

    def event(self, event: SpanEvent, cut: list[str]) -> SpanEvent:
        attributes = self.attributes(event.attributes, cut, f"event {event.name} ")
        return event if attributes is event.attributes else replace(event, attributes=attributes)

    def resource(self, resource: Resource, cut: list[str]) -> Resource:
        """The capped resource; its cuts are reported on the first span that uses it."""
        known = self.resources.get(id(resource))
        if known is not None:
            return known
        attributes = self.attributes(resource.attributes, cut, "resource ")
        scope = self.attributes(resource.scope_attributes, cut, "scope ")
        capped = resource
        if attributes is not resource.attributes or scope is not resource.scope_attributes:
            capped = replace(resource, attributes=attributes, scope_attributes=scope)
        self.resources[id(resource)] = capped
        return capped

    def attributes(self, attributes: Attributes, cut: list[str], prefix: str = "") -> Attributes:
        """The attributes with long values cut (the same object when nothing was cut)."""
        if _nothing_to_cut(list(attributes.values()), self.limit):
            return attributes
        changed: dict[str, AttributeValue] = {}
        for key, value in attributes.items():
            capped = self.value(value)
            if capped is not value:
                changed[key] = capped
                cut.append(prefix + key)
        return {**attributes, **changed} if changed else attributes

    def value(self, value: AttributeValue) -> AttributeValue:
        if isinstance(value, str | bytes):
            return self.cut(value) if len(value) > self.limit else value
        if isinstance(value, list):
            items = [self.value(item) for item in value]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        if isinstance(value, Mapping):
            entries = {key: self.value(item) for key, item in value.items()}
            return entries if any(entries[k] is not value[k] for k in value) else value
        return value

    def cut(self, value: str | bytes) -> Any:
        if isinstance(value, bytes):
            return value[: self.limit]
        return value[: self.limit] + truncation_marker(len(value))


def _nothing_to_cut(values: list[AttributeValue], limit: int) -> bool:
    """Whether `_Capper.value` would return every one of `values` unchanged, found cheaply:
    only plain scalars and lists of them (exact types, so no subclass is let through), none
    longer than `limit`."""
    types = set(map(type, values))
    if not _PLAIN_OR_LIST_TYPES.issuperset(types):
        return False  # maps: the caller looks at every value
    if list in types:
        items = list(chain.from_iterable([value for value in values if type(value) is list]))
        if not _PLAIN_TYPES.issuperset(map(type, items)):
            return False  # lists of lists or maps
        values = values + items
    # len() of strings, bytes and lists, 0 for the others. A list is never cut, but one of
    # more than `limit` items only makes the caller look at every value.
    return max(map(length_hint, values), default=0) <= limit


def cap_attributes(
    decoded: DecodedRequest, limit: int
) -> tuple[DecodedRequest, tuple[IngestWarning, ...]]:
    """The request with every attribute value longer than `limit` cut, and one warning per
    attribute cut."""
    if _nothing_to_cut(_request_values(decoded), limit):
        return decoded, ()  # the usual request, vouched for in one pass over all its values
    capper = _Capper(limit)
    spans = tuple(capper.span(span) for span in decoded.spans)
    if not capper.warnings:
        return decoded, ()
    return DecodedRequest(spans, decoded.rejected), tuple(capper.warnings)


def _request_values(decoded: DecodedRequest) -> list[AttributeValue]:
    """The values of every attribute map of the request: of spans, events, resources, scopes."""
    spans = decoded.spans
    resources = {id(span.resource): span.resource for span in spans}.values()
    maps = [span.attributes for span in spans]
    maps += [event.attributes for span in spans if span.events for event in span.events]
    maps += [resource.attributes for resource in resources]
    maps += [resource.scope_attributes for resource in resources]
    return list(chain.from_iterable([attributes.values() for attributes in maps]))


def cap_patches(
    patches: Sequence[EventPatch], limit: int
) -> tuple[tuple[EventPatch, ...], tuple[IngestWarning, ...]]:
    """The batch events' patches with every string value longer than `limit` cut, and one
    warning per field cut (on the trace, and the observation when the patch is one's)."""
    capper = _Capper(limit)
    capped = tuple(_capped_patch(capper, patch) for patch in patches)
    return capped, tuple(capper.warnings)


def _capped_patch(capper: _Capper, patch: EventPatch) -> EventPatch:
    cut: list[str] = []
    others = {key: value for key, value in patch.values.items() if key not in PATCH_ID_FIELDS}
    capped = capper.attributes(others, cut)
    if not cut:
        return patch
    values = {**patch.values, **capped}  # the ids as they were, in their places
    if patch.kind == TRACE:
        trace_id, span_id = patch.target_id, None
    else:
        trace_id, span_id = str(patch.values.get("trace_id") or ""), patch.target_id
    for key in cut:
        message = f"field {key!r} was longer than {capper.limit} characters; it was cut"
        capper.warnings.append(IngestWarning(trace_id, span_id, TRUNCATED_CODE, message))
    return replace(patch, values=values)
