"""Langfuse Python SDK 5.x: `propagate_attributes` entered late, inside a nested span.

    python langfuse5_late_propagate.py SESSION_ID USER_ID

Each of two turns is one trace: root → child → (propagate_attributes) → grandchild
generation, then a sibling generation of the child outside the context. Only the child and
the grandchild carry the session id on the wire; the server must lift it to the whole trace.
Prints {"traces": {trace_id: [names]}, "usage": {...}, "cost": total} on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from langfuse import get_client, propagate_attributes

TURNS = (
    {"grandchild": (10, 20, 0.0001, 0.0004), "sibling": (3, 4, 0.00003, 0.00008)},
    {"grandchild": (7, 11, 0.00007, 0.00022), "sibling": (2, 5, 0.00002, 0.0001)},
)
NAMES = ["root", "child", "grandchild", "sibling"]


def generation(name: str, numbers: tuple[int, int, float, float]) -> Any:
    """Start a current generation with the usage and cost that NUMBERS give."""
    input_tokens, output_tokens, input_cost, output_cost = numbers
    usage = {"input": input_tokens, "output": output_tokens, "total": input_tokens + output_tokens}
    cost = {"input": input_cost, "output": output_cost, "total": input_cost + output_cost}
    return get_client().start_as_current_observation(
        name=name, as_type="generation", model="gpt-4o-mini", usage_details=usage, cost_details=cost
    )


def turn(session_id: str, user_id: str, numbers: dict[str, tuple[int, int, float, float]]) -> str:
    langfuse = get_client()
    with langfuse.start_as_current_observation(name="root", as_type="span") as root:
        with langfuse.start_as_current_observation(name="child", as_type="span"):
            with propagate_attributes(session_id=session_id, user_id=user_id):
                with generation("grandchild", numbers["grandchild"]):
                    pass
        with generation("sibling", numbers["sibling"]):
            pass
        return root.trace_id


def totals() -> dict[str, object]:
    used = [numbers for spec in TURNS for numbers in spec.values()]
    return {
        "usage": {
            "input": sum(n[0] for n in used),
            "output": sum(n[1] for n in used),
            "total": sum(n[0] + n[1] for n in used),
        },
        "cost": sum(n[2] + n[3] for n in used),
    }


def main(session_id: str, user_id: str) -> None:
    traces = {turn(session_id, user_id, spec): NAMES for spec in TURNS}
    get_client().flush()
    print(json.dumps({"traces": traces, **totals()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
