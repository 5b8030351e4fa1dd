"""Langfuse Python SDK 5.x scores: `score_current_trace`, `span.score`, `create_score`.

    python langfuse5_scores.py SESSION_ID

One trace in SESSION_ID (`propagate_attributes`): its root is scored with
`score_current_trace`, its generation (usage, no cost) with `span.score` (categorical); then
`create_score(session_id=...)` scores the session and `create_score(trace_id=...)` the trace
again. The SDK sends the scores as one JSON array to POST /api/public/scores.
Prints {"trace_id", "observation_id", "scores": [[name, value, target], ...]} on stdout.
"""

from __future__ import annotations

import json
import sys

from langfuse import get_client, propagate_attributes


def main(session_id: str) -> None:
    langfuse = get_client()
    with propagate_attributes(session_id=session_id):
        with langfuse.start_as_current_observation(name="turn", as_type="span") as root:
            langfuse.score_current_trace(name="helpfulness", value=0.9, comment="clear")
            with langfuse.start_as_current_observation(
                name="llm",
                as_type="generation",
                model="gpt-4o-mini",
                usage_details={"input": 1000, "output": 200},
            ) as generation:
                generation.score(name="tone", value="friendly", data_type="CATEGORICAL")
                observation_id = generation.id
            trace_id = root.trace_id
    langfuse.create_score(name="resolved", value=1, data_type="BOOLEAN", session_id=session_id)
    langfuse.create_score(name="helpfulness", value=0.5, trace_id=trace_id)
    langfuse.flush()
    scores = [
        ["helpfulness", 0.9, "trace"],
        ["tone", "friendly", "observation"],
        ["resolved", True, "session"],
        ["helpfulness", 0.5, "trace"],
    ]
    print(json.dumps({"trace_id": trace_id, "observation_id": observation_id, "scores": scores}))


if __name__ == "__main__":
    main(sys.argv[1])
