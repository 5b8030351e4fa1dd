from __future__ import annotations

import json

from skein.ui.values import (
    CLIP_CHARS,
    EMPTY,
    JSON,
    MESSAGES,
    PARSE_LIMIT,
    TEXT,
    clip,
    data_preview,
    full_text,
    preview,
    show_value,
)


def test_clip_keeps_short_text_and_cuts_long_text_at_a_line_end() -> None:
    assert clip("short").text == "short" and not clip("short").clipped
    lines = "\n".join("x" * 99 for _ in range(1000))
    cut = clip(lines, 1000)
    assert cut.clipped and cut.total == len(lines)
    assert len(cut.text) <= 1000 and cut.text.endswith("x") and lines.startswith(cut.text)


def test_clip_without_line_ends_cuts_at_the_limit() -> None:
    cut = clip("y" * 5000, 100)
    assert cut.text == "y" * 100 and cut.total == 5000


def test_messages_are_shown_as_messages() -> None:
    shown = show_value(json.dumps([{"role": "user", "content": "hi"}]))
    assert shown.kind == MESSAGES and shown.messages[0].text == "hi"


def test_json_that_is_not_messages_is_indented_and_text_stays_text() -> None:
    shown = show_value(json.dumps({"documents": [1, 2], "k": 3}))
    assert shown.kind == JSON and shown.body is not None
    assert json.loads(shown.body.text) == {"documents": [1, 2], "k": 3}
    assert "\n  " in shown.body.text
    assert show_value(None).kind == EMPTY and show_value("  ").kind == EMPTY
    assert show_value("{}").kind == EMPTY


def test_a_five_megabyte_input_is_cut_without_parsing() -> None:
    huge = json.dumps([{"role": "user", "content": "z" * (5 * 1024 * 1024)}])
    assert len(huge) > PARSE_LIMIT
    shown = show_value(huge)
    assert shown.kind == TEXT and shown.body is not None
    assert shown.body.clipped and len(shown.body.text) <= CLIP_CHARS
    assert shown.size == len(huge)


def test_full_text_indents_json_and_keeps_text() -> None:
    assert json.loads(full_text('{"a":[1,2]}')) == {"a": [1, 2]}
    assert full_text('{"a":1}') != '{"a":1}'
    assert full_text("plain words") == "plain words"


def test_preview_is_the_last_user_message_on_one_line() -> None:
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "first\nquestion"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "second   question"},
    ]
    assert preview(json.dumps(messages)) == "second question"
    assert preview(json.dumps({"role": "assistant", "content": "done"}), "output") == "done"
    assert preview(None) == ""
    long = preview("w " * 1000)
    assert len(long) <= 160 and long.endswith("…")


def test_data_preview_is_compact_json() -> None:
    assert data_preview('{"city": "Paris"}') == '{"city": "Paris"}'
    assert data_preview('"just text"') == "just text"
    assert data_preview(None) == ""
