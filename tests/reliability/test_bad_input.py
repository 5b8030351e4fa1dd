"""Bad input through the real HTTP app (in process): whatever a client sends, the answer is
a 200 (with `partial_success` naming what was dropped) or a clear 4xx in the error shape —
never a 500, never a hang — and the valid spans next to a bad one are stored and readable.

The decoder and the mapper have their own property tests (tests/ingest/test_otlp.py,
test_mapping.py); these go through the whole request path: HTTP, decompression, decoding,
the guards, mapping, pricing, the writer and the store, and back out through the read API.
"""

from __future__ import annotations

import gzip
import json
import math
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from starlette.testclient import TestClient

from skein.app import create_app
from skein.store import open_store
from skein.store.base import Store
from tests.otlp_bodies import BASE_NS, SpanSpec, json_body, protobuf_body
from tests.postgres_server import PostgresServer
from tests.test_app import PROTOBUF, auth, make_settings, project_of

OTLP = "/api/public/otel/v1/traces"
GOOD_STATUSES = {200, 400, 413, 415}
SECONDS_PER_REQUEST = 5.0
ATTRIBUTE_LIMIT = 100_000


Served = tuple[TestClient, Store]


def serve(data_dir: Path, **overrides: Any) -> Iterator[Served]:
    settings_ = make_settings(data_dir, max_attribute_chars=ATTRIBUTE_LIMIT, **overrides)
    store = open_store(settings_.resolved_database_url())
    try:
        with TestClient(create_app(settings_, store)) as client:
            yield client, store
    finally:
        store.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("bad-input"))


@pytest.fixture(scope="module")
def served_on_postgresql(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[Served]:
    url = postgres_server.create_database()
    try:
        yield from serve(tmp_path_factory.mktemp("bad-input-pg"), database_url=url)
    finally:
        postgres_server.release_database(url)


def post(client: TestClient, body: bytes, content_type: str = PROTOBUF, **headers: str) -> Any:
    started = time.monotonic()
    response = client.post(
        OTLP, content=body, headers={**auth(), "Content-Type": content_type, **headers}
    )
    assert time.monotonic() - started < SECONDS_PER_REQUEST
    return response


def strict_json(text: str) -> Any:
    """JSON as other clients parse it: no NaN or Infinity."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def assert_clear_answer(response: Any) -> None:
    """A 200 (the OTLP answer), or a 4xx in the one error shape with a message."""
    assert response.status_code in GOOD_STATUSES, (response.status_code, response.text[:300])
    if response.status_code != 200:
        error = strict_json(response.text)
        assert error["error"]["status"] == response.status_code
        assert error["message"] and error["message"] == error["error"]["message"]


def rejected_count(response: Any) -> int:
    answer = ExportTraceServiceResponse.FromString(response.content)
    if answer.partial_success.rejected_spans:
        assert answer.partial_success.error_message
    return int(answer.partial_success.rejected_spans)


# -- One bad span between two good ones ----------------------------------------------------------

Mutation = Callable[[Any], None]


def set_value(key: str, value: AnyValue) -> Mutation:
    def mutate(span: Any) -> None:
        span.attributes.add(key=key).value.CopyFrom(value)

    return mutate


def nested(depth: int) -> AnyValue:
    value = AnyValue(string_value="bottom")
    for _ in range(depth):
        outer = AnyValue()
        outer.kvlist_value.values.add(key="k").value.CopyFrom(value)
        value = outer
    return value


def assign(field: str, value: Any) -> Mutation:
    def mutate(span: Any) -> None:
        setattr(span, field, value)

    return mutate


def nuls(span: Any) -> None:
    span.name = "tool\x00call"
    span.attributes.add(key="input.value").value.string_value = "before\x00after"


BAD_SPANS: dict[str, tuple[Mutation, str]] = {
    # name: (how the middle span is spoiled, "rejected" | "kept" | "refused": whole body 400)
    "trace id of 15 bytes": (assign("trace_id", b"\x01" * 15), "rejected"),
    "span id of 9 bytes": (assign("span_id", b"\x01" * 9), "rejected"),
    "all-zero span id": (assign("span_id", b"\x00" * 8), "rejected"),
    "parent id of 3 bytes": (assign("parent_span_id", b"\x01" * 3), "rejected"),
    "start in 1970": (assign("start_time_unix_nano", 1), "rejected"),
    "end in the year 2554": (assign("end_time_unix_nano", 2**64 - 1), "rejected"),
    "end before start": (assign("end_time_unix_nano", BASE_NS - 10**9), "kept"),
    "NaN attribute": (set_value("x", AnyValue(double_value=math.nan)), "kept"),
    "infinite token count": (
        set_value("gen_ai.usage.input_tokens", AnyValue(double_value=math.inf)),
        "kept",
    ),
    "2 MB attribute": (set_value("input.value", AnyValue(string_value="x" * 2_000_000)), "kept"),
    "attributes nested 20 deep": (set_value("deep", nested(20)), "kept"),
    "attributes nested 200 deep": (set_value("deep", nested(200)), "refused"),
    "a very long name": (assign("name", "n" * 300_000), "kept"),
    "NUL characters in the name and the input": (nuls, "kept"),  # PostgreSQL text has no NUL
}


def three_spans(trace_number: int, spoil: Mutation) -> tuple[bytes, str, list[str]]:
    """A body of three spans of one trace, the middle one spoiled: (body, trace id, the
    good spans' ids)."""
    trace_id = f"bad0{trace_number:028x}"
    specs = [SpanSpec(trace_id, f"{trace_number:08x}{n:08x}", name=f"s{n}") for n in (1, 2, 3)]
    request = ExportTraceServiceRequest.FromString(protobuf_body(*specs))
    spoil(request.resource_spans[0].scope_spans[0].spans[1])
    return request.SerializeToString(), trace_id, [specs[0].span_id, specs[2].span_id]


@pytest.mark.parametrize("case", sorted(BAD_SPANS))
def test_a_bad_span_is_answered_clearly_and_its_neighbours_are_kept(
    served: Served, case: str
) -> None:
    assert_bad_span_answered_and_neighbours_kept(served, case)


@pytest.mark.parametrize("case", sorted(BAD_SPANS))
def test_on_postgresql_too(served_on_postgresql: Served, case: str) -> None:
    assert_bad_span_answered_and_neighbours_kept(served_on_postgresql, case)


def assert_bad_span_answered_and_neighbours_kept(served: Served, case: str) -> None:
    client, store = served
    spoil, outcome = BAD_SPANS[case]
    body, trace_id, good_ids = three_spans(sorted(BAD_SPANS).index(case) + 1, spoil)
    response = post(client, body)
    assert_clear_answer(response)
    if outcome == "refused":
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert rejected_count(response) == (1 if outcome == "rejected" else 0)
    stored = {o.id for o in store.list_observations(project_of(store), trace_id)}
    assert set(good_ids) <= stored
    read = client.get(f"/api/public/traces/{trace_id}", headers=auth())
    assert read.status_code == 200
    observations = strict_json(read.text)["observations"]
    assert len(observations) == len(stored)
    assert all(len(json.dumps(o)) < 2 * ATTRIBUTE_LIMIT + 400_000 for o in observations)


# -- Bodies that cannot be read --------------------------------------------------------------------

GOOD_BODY = protobuf_body(SpanSpec("ba5e" * 8, "00000000000000aa"))
BAD_BODIES: dict[str, tuple[bytes, str, dict[str, str]]] = {
    "gzip header on plain bytes": (GOOD_BODY, PROTOBUF, {"Content-Encoding": "gzip"}),
    "truncated gzip": (gzip.compress(GOOD_BODY)[:-6], PROTOBUF, {"Content-Encoding": "gzip"}),
    "deflate that is gzip": (gzip.compress(GOOD_BODY), PROTOBUF, {"Content-Encoding": "deflate"}),
    "unknown encoding": (GOOD_BODY, PROTOBUF, {"Content-Encoding": "br"}),
    "truncated protobuf": (GOOD_BODY[:-3], PROTOBUF, {}),
    "protobuf sent as JSON": (GOOD_BODY, "application/json", {}),
    "JSON sent as protobuf": (json_body(SpanSpec("ba5e" * 8, "00000000000000ab")), PROTOBUF, {}),
    "invalid UTF-8 in JSON": (b'{"resourceSpans": [{"x": "\xff\xfe"}]}', "application/json", {}),
    "JSON nested 100000 deep": (b"[" * 100_000 + b"]" * 100_000, "application/json", {}),
    "unknown media type": (GOOD_BODY, "text/plain", {}),
    "gzip bomb": (
        zlib.compress(b"\x00" * 200_000_000, 9),
        PROTOBUF,
        {"Content-Encoding": "deflate"},
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_an_unreadable_body_gets_a_clear_4xx(served: tuple[TestClient, Store], case: str) -> None:
    client, _ = served
    body, content_type, headers = BAD_BODIES[case]
    response = post(client, body, content_type, **headers)
    assert_clear_answer(response)
    if case != "JSON sent as protobuf":  # protobuf may read JSON text as unknown fields
        assert response.status_code != 200


def test_the_unreadable_body_cases_are_fine_when_not_spoiled(
    served: tuple[TestClient, Store],
) -> None:
    """The bodies above are broken by what the case says, not by something else."""
    client, _ = served
    assert (
        post(client, gzip.compress(GOOD_BODY), PROTOBUF, **{"Content-Encoding": "gzip"}).status_code
        == 200
    )
    json_good = json_body(SpanSpec("ba5e" * 8, "00000000000000ab"))
    assert post(client, json_good, "application/json").status_code == 200


# -- Random and mutated bodies ---------------------------------------------------------------------


def valid_bodies() -> list[tuple[bytes, str]]:
    specs = [
        SpanSpec("f0220" + "0" * 27, f"{n:016x}", f"{n - 1:016x}" if n > 1 else None,
                 attributes={"session.id": "fz", "gen_ai.usage.input_tokens": n, "a": [1.5, "b"]})
        for n in range(1, 4)
    ]  # fmt: skip
    return [(protobuf_body(*specs), PROTOBUF), (json_body(*specs), "application/json")]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str, bool]:
    """A valid body with bytes flipped, cut, inserted or duplicated; maybe gzipped."""
    body, content_type = draw(st.sampled_from(valid_bodies()))
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(("flip", "cut", "insert", "repeat")))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[position : position + draw(st.integers(1, 16))]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 32))]
    return bytes(data), content_type, draw(st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_a_mutated_body_never_gets_a_server_error(
    served: tuple[TestClient, Store], case: tuple[bytes, str, bool]
) -> None:
    client, _ = served
    body, content_type, gzipped = case
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    response = post(client, gzip.compress(body) if gzipped else body, content_type, **headers)
    assert_clear_answer(response)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from((PROTOBUF, "application/json")),
)
def test_random_bytes_never_get_a_server_error(
    served: tuple[TestClient, Store], body: bytes, content_type: str
) -> None:
    client, _ = served
    assert_clear_answer(post(client, body, content_type))


def test_read_filters_with_times_far_out_answer_normally(served: tuple[TestClient, Store]) -> None:
    client, _ = served
    for moment in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        for path in ("/api/public/traces", "/api/public/sessions", "/api/public/scores"):
            response = client.get(path, params={"fromTimestamp": moment}, headers=auth())
            assert response.status_code == 200, (path, moment, response.text[:200])
    assert (
        client.get("/api/public/traces", params={"page": 10**30}, headers=auth()).status_code == 400
    )
