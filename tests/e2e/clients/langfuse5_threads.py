"""Langfuse Python SDK 5.x: one `@observe` root whose work runs in a thread pool.

    python langfuse5_threads.py SESSION_ID

The root enters `propagate_attributes(session_id=...)` and submits its work to a
`ThreadPoolExecutor` through `contextvars.copy_context().run`, so the workers' spans stay
in the root's trace. Prints {"traces": {trace_id: [names]}, "usage": {...}} on stdout.
"""

from __future__ import annotations

import contextvars
import json
import sys
from concurrent.futures import ThreadPoolExecutor

from langfuse import get_client, observe, propagate_attributes

WORKERS = 4


def usage(index: int) -> dict[str, int]:
    return {"input": 10 + index, "output": 2 * index + 1, "total": 11 + 3 * index}


@observe(name="thread-work")
def work(index: int) -> str:
    with get_client().start_as_current_observation(
        name=f"thread-generation-{index}",
        as_type="generation",
        model="gpt-4o-mini",
        usage_details=usage(index),
    ):
        pass
    return f"done {index}"


@observe(name="threads-root")
def root(session_id: str) -> str:
    with propagate_attributes(session_id=session_id):
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, work, index) for index in range(WORKERS)
            ]
            for future in futures:
                future.result()
    trace_id = get_client().get_current_trace_id()
    assert trace_id is not None
    return trace_id


def main(session_id: str) -> None:
    trace_id = root(session_id)
    get_client().flush()
    names = ["threads-root"] + ["thread-work"] * WORKERS
    names += [f"thread-generation-{index}" for index in range(WORKERS)]
    used = [usage(index) for index in range(WORKERS)]
    totals = {key: sum(u[key] for u in used) for key in ("input", "output", "total")}
    print(json.dumps({"traces": {trace_id: names}, "usage": totals}))


if __name__ == "__main__":
    main(sys.argv[1])
