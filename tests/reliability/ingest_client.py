"""A client process for the crash tests: sends OTLP/protobuf spans to a server until told to
stop, and records each span only once the server has answered 2xx for it.

    python -m tests.reliability.ingest_client BASE_URL ACKED_FILE STOP_FILE SEED

Spans belong to a shared pool of traces (every client writes into the same traces and
sessions); each trace's children are sent before its root, in the same request or an
earlier one, and roots are sent again by every client that touches the trace (the same span,
delivered many times). The server may be down or dying at any moment: a request that fails
is not recorded and not retried. Acknowledged spans are appended to ACKED_FILE as
`trace_id span_id` lines, flushed at once. At the end it prints a JSON report.
"""

from __future__ import annotations

import base64
import json
import random
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.e2e.conftest import PUBLIC_KEY, SECRET_KEY
from tests.otlp_bodies import BASE_NS, SpanSpec, protobuf_body

TRACES = 120
SESSIONS = 11
MAX_CHILDREN = 6
REQUEST_SECONDS = 10.0
PAUSE_AFTER_FAILURE_SECONDS = 0.05
TRACE_PREFIX = "c0ffee00"


def trace_id(index: int) -> str:
    return f"{TRACE_PREFIX}{index:024x}"


def root_id(index: int) -> str:
    return f"{index + 1:016x}"


def root_span(index: int) -> SpanSpec:
    """The same span whichever client sends it."""
    start = BASE_NS + index * 1_000_000_000
    attributes = {"session.id": f"crash-s{index % SESSIONS}", "user.id": f"u{index % 3}"}
    return SpanSpec(trace_id(index), root_id(index), None, "turn", attributes, start, start + 10**8)


def child_span(index: int, rng: random.Random) -> SpanSpec:
    start = BASE_NS + index * 1_000_000_000 + rng.randrange(10**8)
    attributes: dict[str, object] = {
        "gen_ai.usage.input_tokens": rng.randrange(1, 500),
        "gen_ai.usage.output_tokens": rng.randrange(1, 500),
    }
    if rng.random() < 0.3:  # a session id that disagrees with the root's: the root must win
        attributes["session.id"] = f"crash-s{(index + 5) % SESSIONS}"
    span_id = f"{rng.getrandbits(62) | (1 << 63):016x}"
    end = start + rng.randrange(1, 10**8)
    return SpanSpec(trace_id(index), span_id, root_id(index), "llm", attributes, start, end)


def requests_for_one_trace(rng: random.Random) -> list[list[SpanSpec]]:
    """A trace's spans as one or two requests, children first."""
    index = rng.randrange(TRACES)
    children = [child_span(index, rng) for _ in range(rng.randrange(1, MAX_CHILDREN + 1))]
    if rng.random() < 0.5:
        return [children + [root_span(index)]]
    return [children, [root_span(index)]]


@dataclass
class Counts:
    acknowledged: int = 0
    failed: int = 0
    overloaded: int = 0


def post(base_url: str, spans: list[SpanSpec]) -> int:
    """The HTTP status of one export, or 0 when the server could not be reached."""
    token = base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
    request = urllib.request.Request(
        base_url + "/api/public/otel/v1/traces",
        data=protobuf_body(*spans),
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Basic {token}"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=REQUEST_SECONDS) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return 0


def send(base_url: str, spans: list[SpanSpec], acked: IO[str], counts: Counts) -> None:
    status = post(base_url, spans)
    if 200 <= status < 300:
        acked.write("".join(f"{s.trace_id} {s.span_id}\n" for s in spans))
        acked.flush()
        counts.acknowledged += len(spans)
        return
    counts.failed += 1
    counts.overloaded += status == 503
    time.sleep(PAUSE_AFTER_FAILURE_SECONDS)


def main(argv: list[str]) -> int:
    base_url, acked_path, stop_path, seed = argv
    rng = random.Random(int(seed))
    counts = Counts()
    with Path(acked_path).open("a", encoding="utf-8") as acked:
        while not Path(stop_path).exists():
            for spans in requests_for_one_trace(rng):
                send(base_url, spans, acked, counts)
    print(json.dumps(counts.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
