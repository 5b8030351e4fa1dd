"""Langfuse Python SDK 3.x scores, which go through POST /api/public/ingestion (score-create).

    python langfuse3_scores.py SESSION_ID

One `@observe` trace put in SESSION_ID with `update_current_trace`, scored with
`score_current_trace` (numeric) and `score_current_span` (categorical); then
`create_score(session_id=...)` scores the session (boolean).
Prints {"trace_id", "scores": [[name, value, target], ...]} on stdout.
"""

from __future__ import annotations

import json
import sys

from langfuse import get_client, observe


@observe(name="turn-v3")
def turn(session_id: str) -> str | None:
    langfuse = get_client()
    langfuse.update_current_trace(session_id=session_id)
    langfuse.score_current_trace(name="helpfulness", value=0.8)
    langfuse.score_current_span(name="tone", value="calm", data_type="CATEGORICAL")
    return langfuse.get_current_trace_id()


def main(session_id: str) -> None:
    trace_id = turn(session_id)
    langfuse = get_client()
    langfuse.create_score(name="resolved", value=0, data_type="BOOLEAN", session_id=session_id)
    langfuse.flush()
    scores = [["helpfulness", 0.8, "trace"], ["tone", "calm", "observation"],
              ["resolved", False, "session"]]  # fmt: skip
    print(json.dumps({"trace_id": trace_id, "scores": scores}))


if __name__ == "__main__":
    main(sys.argv[1])
