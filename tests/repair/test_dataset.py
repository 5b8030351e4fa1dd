from __future__ import annotations

import json
from pathlib import Path

from skein.records import MappedBatch, Observation, TraceAttributes
from skein.repair.dataset import dataset_lines
from tests.repair.factories import open_test_store
from tests.store.factories import PROJECT_ID, START_NS

SYSTEM = {"role": "system", "content": "be brief"}
ASK_1 = {"role": "user", "content": "weather in Oslo?"}
WEATHER = {"name": "weather", "arguments": '{"city":"Oslo"}'}
CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [{"id": "c1", "type": "function", "function": WEATHER}],
}
RESULT = {"role": "tool", "tool_call_id": "c1", "content": "4C"}
ANSWER_1 = {"role": "assistant", "content": "4C in Oslo."}
ASK_2 = {"role": "user", "content": "and tomorrow?"}
ANSWER_2 = {"role": "assistant", "content": "Colder."}


def generation(
    trace: int, index: int, messages: list[dict[str, object]], output: dict[str, object]
) -> Observation:
    start = START_NS + trace * 10**10 + index * 10**6
    return Observation(
        id=f"{trace:08x}{index:08x}", trace_id=f"{trace:032x}", parent_id=None, is_root=index == 0,
        name="chat", type="GENERATION", start_ns=start, end_ns=start + 1,
        input=json.dumps(messages), output=json.dumps(output),
        trace=TraceAttributes(session_id="chat-1", user_id="u1"),
    )  # fmt: skip


def test_a_session_becomes_one_openai_conversation_without_repeats(tmp_path: Path) -> None:
    store = open_test_store(tmp_path)
    try:
        spans = (
            generation(1, 0, [SYSTEM, ASK_1], CALL),
            generation(1, 1, [SYSTEM, ASK_1, CALL, RESULT], ANSWER_1),
            generation(2, 0, [SYSTEM, ASK_1, CALL, RESULT, ANSWER_1, ASK_2], ANSWER_2),
        )
        store.write([MappedBatch(PROJECT_ID, spans)])
        (line,) = list(dataset_lines(store, PROJECT_ID))
        record = json.loads(line)
        assert record["messages"] == [SYSTEM, ASK_1, CALL, RESULT, ANSWER_1, ASK_2, ANSWER_2]
        assert record["metadata"] == {
            "sessionId": "chat-1", "traceIds": [f"{1:032x}", f"{2:032x}"], "userIds": ["u1"],
        }  # fmt: skip
        (bare,) = list(dataset_lines(store, PROJECT_ID, ["chat-1"], with_metadata=False))
        assert set(json.loads(bare)) == {"messages"}
    finally:
        store.close()
