from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skein.ingest.conventions import (
    SESSION_ALIASES,
    TAG_ALIASES,
    TAG_RANKS,
    USER_ALIASES,
    IdAliases,
    as_text,
    decode_value,
    find_id,
    flattened_keys,
    jsonable,
    keys_present,
    merged_metadata,
    parse_json,
    read_id,
    read_public,
    read_tags,
    tag_list,
    unquote,
)

# The alias tables, written out independently of the module (design.md rule 1 + the brief).
PREFIXES = [
    "langfuse.trace.metadata.",
    "langfuse.observation.metadata.",
    "metadata.",
    "ai.telemetry.metadata.",
    "traceloop.association.properties.",
]
SESSION_NAMES = [
    "langfuse_session_id",
    "langfuseSessionId",
    "session_id",
    "sessionId",
    "conversation_id",
    "conversationId",
    "thread_id",
    "threadId",
]
USER_NAMES = ["langfuse_user_id", "langfuseUserId", "user_id", "userId"]
SESSION_ORDER = [
    "langfuse.session.id",
    "session.id",
    "gen_ai.conversation.id",
    *[prefix + name for prefix in PREFIXES for name in SESSION_NAMES],
]
USER_ORDER = [
    "langfuse.user.id",
    "user.id",
    "enduser.id",
    *[prefix + name for prefix in PREFIXES for name in USER_NAMES],
]
BLOBS = ["langfuse.trace.metadata", "langfuse.observation.metadata", "metadata"]


def read_metadata(
    attributes: Mapping[str, Any], blob_key: str, prefixes: tuple[str, ...], **options: bool
) -> dict[str, Any]:
    """A span's metadata as the mapping reads it: the blob merged with the flattened keys."""
    flattened = flattened_keys(attributes, prefixes)
    return merged_metadata(attributes, blob_key, flattened, **options)


def quoted(text: str) -> str:
    return json.dumps(text)


# ── Session and user ids ──────────────────────────────────────────────────────────────


def test_alias_tables_cover_every_prefix_and_name() -> None:
    assert len(SESSION_ORDER) == 3 + 5 * 8
    assert list(SESSION_ALIASES.keys) == SESSION_ORDER
    assert list(USER_ALIASES.keys) == USER_ORDER


@pytest.mark.parametrize("key", SESSION_ORDER)
@pytest.mark.parametrize("spelling", ["raw", "json-quoted"])
def test_every_session_alias_is_read_raw_or_json_quoted(key: str, spelling: str) -> None:
    value = quoted("sess-42") if spelling == "json-quoted" else "sess-42"
    reading = read_id({key: value, "unrelated": "x"}, SESSION_ALIASES)
    assert (reading.value, reading.source, reading.problems) == ("sess-42", key, ())


@pytest.mark.parametrize("key", USER_ORDER)
@pytest.mark.parametrize("spelling", ["raw", "json-quoted"])
def test_every_user_alias_is_read_raw_or_json_quoted(key: str, spelling: str) -> None:
    value = quoted("user-7") if spelling == "json-quoted" else "user-7"
    reading = read_id({key: value}, USER_ALIASES)
    assert (reading.value, reading.source) == ("user-7", key)


@pytest.mark.parametrize(
    ("order", "aliases"), [(SESSION_ORDER, SESSION_ALIASES), (USER_ORDER, USER_ALIASES)]
)
def test_aliases_take_precedence_in_order(order: list[str], aliases: Any) -> None:
    # Every alias set at once, listed backwards so dict order cannot be what decides.
    attributes = {key: f"id-{index}" for index, key in reversed(list(enumerate(order)))}
    for index, key in enumerate(order):
        reading = read_id(attributes, aliases)
        assert (reading.value, reading.source) == (f"id-{index}", key)
        del attributes[key]
    assert read_id(attributes, aliases).value is None


@pytest.mark.parametrize("blob_key", BLOBS)
@pytest.mark.parametrize("name", SESSION_NAMES)
@pytest.mark.parametrize("form", ["json-text", "mapping"])
def test_session_ids_inside_metadata_blobs(blob_key: str, name: str, form: str) -> None:
    blob = {"other": 1, name: "s-blob"}
    reading = read_id(
        {blob_key: json.dumps(blob) if form == "json-text" else blob}, SESSION_ALIASES
    )
    assert (reading.value, reading.source) == ("s-blob", f"{blob_key}[{name}]")


def test_flattened_keys_win_over_blobs_and_blobs_go_in_order() -> None:
    attributes = {
        "metadata": json.dumps({"sessionId": "from-metadata-blob"}),
        "langfuse.observation.metadata": {"session_id": "from-observation-blob"},
    }
    assert read_id(attributes, SESSION_ALIASES).value == "from-observation-blob"
    attributes["metadata.thread_id"] = "flat"
    assert read_id(attributes, SESSION_ALIASES).source == "metadata.thread_id"


def test_a_blob_that_is_not_an_object_is_ignored() -> None:
    attributes = {"langfuse.trace.metadata": "[1, 2]", "metadata": 5}
    assert read_id(attributes, SESSION_ALIASES) == read_id({}, SESSION_ALIASES)


@pytest.mark.parametrize(
    ("value", "code", "detail"),
    [
        (42, "session_id_not_string", "number"),
        (True, "session_id_not_string", "boolean"),
        (["s1"], "session_id_not_string", "list"),
        ({"id": "s1"}, "session_id_not_string", "object"),
        (b"s1", "session_id_not_string", "bytes"),
        (3.5, "session_id_not_string", "number"),
        ("", "session_id_empty", "empty"),
        ("   ", "session_id_empty", "empty"),
        ('""', "session_id_empty", "empty"),
        ("x" * 201, "session_id_too_long", "201 characters"),
        (quoted("y" * 250), "session_id_too_long", "250 characters"),
    ],
)
def test_unusable_session_ids_are_skipped_with_a_problem(
    value: Any, code: str, detail: str
) -> None:
    attributes = {"session.id": value, "metadata.sessionId": "fallback"}
    reading = read_id(attributes, SESSION_ALIASES)
    assert (reading.value, reading.source) == ("fallback", "metadata.sessionId")
    [problem] = reading.problems
    assert problem.code == code
    assert "'session.id'" in problem.message and detail in problem.message


def test_id_length_limit_is_200_characters_after_unquoting() -> None:
    assert read_id({"session.id": "z" * 200}, SESSION_ALIASES).value == "z" * 200
    assert read_id({"session.id": quoted("z" * 200)}, SESSION_ALIASES).value == "z" * 200


def test_every_unusable_candidate_is_reported_when_none_is_usable() -> None:
    attributes = {"user.id": "", "langfuse.user.id": 7, "metadata": {"userId": "u" * 300}}
    reading = read_id(attributes, USER_ALIASES)
    assert reading.value is None
    assert [p.code for p in reading.problems] == [
        "user_id_not_string",
        "user_id_empty",
        "user_id_too_long",
    ]


def test_a_null_value_is_absent_not_a_problem() -> None:
    reading = read_id({"session.id": None, "gen_ai.conversation.id": "c1"}, SESSION_ALIASES)
    assert (reading.value, reading.problems) == ("c1", ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"s1"', "s1"),
        ('"with \\"inner\\" quotes"', 'with "inner" quotes'),
        ("s1", "s1"),
        ("123", "123"),
        ('"unterminated', '"unterminated'),
        ('"a" and "b"', '"a" and "b"'),
        ('""', ""),
    ],
)
def test_unquote_removes_one_level_of_json_quoting(text: str, expected: str) -> None:
    assert unquote(text) == expected


def test_unquote_replaces_lone_surrogates_from_json_escapes() -> None:
    assert unquote('"a\\udc00b"') == "a\ufffdb"
    assert unquote("raw \ud800") == "raw \ufffd"
    assert unquote('"\\ud83d\\ude00"') == "\U0001f600"


def test_unquote_removes_only_one_level() -> None:
    assert unquote(quoted(quoted("s"))) == quoted("s")


# ── Metadata values, per SDK encoding ─────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("sent", "meant"),
    [
        # Python 5.x: JSON for every value.
        ('"acme"', "acme"),
        ("42", 42),
        ("true", True),
        ('{"x":1}', {"x": 1}),
        ('["a", "b"]', ["a", "b"]),
        ("null", None),
        # Python 4.x: str(value).
        ("acme", "acme"),
        ("True", True),
        ("False", False),
        ("None", None),
        ("{'x': 1}", {"x": 1}),
        ("['a', 'b']", ["a", "b"]),
        ("('a', 1)", ("a", 1)),
        # Python 3.x and OTel: native values.
        (3, 3),
        (True, True),
        (2.5, 2.5),
        (["a", 1], ["a", 1]),
        # JS: raw strings, JSON otherwise.
        ("v", "v"),
        ("5", 5),
        ('{"a":1}', {"a": 1}),
    ],
)
def test_metadata_values_decode_from_every_sdk_encoding(sent: Any, meant: Any) -> None:
    assert decode_value(sent) == meant


@pytest.mark.parametrize("sent", ["True", "None", "{'x': 1}", "('a', 1)"])
def test_python_reprs_stay_strings_when_the_sender_cannot_send_them(sent: str) -> None:
    assert decode_value(sent, python_repr=False) == sent


@pytest.mark.parametrize(
    "sent",
    [
        "__import__('os').system('true')",
        "(__import__('os'))",
        "[x for x in ()]",
        "{'a': f()}",
        "true story",
        "{not json",
        "[" * 100_000,
        "(" * 100_000,
        "1" * 5_000,
    ],
)
def test_unsafe_or_broken_values_stay_raw_strings(sent: str) -> None:
    assert decode_value(sent) == sent


# ── Tags, metadata, public ────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("value", "tags"),
    [
        (["a", "b"], ["a", "b"]),
        ('["a", "b"]', ["a", "b"]),
        ("a, b ,c", ["a", "b", "c"]),
        ("solo", ["solo"]),
        ('"quoted"', ["quoted"]),
        ("['x', 'y']", ["x", "y"]),
        ([1, True, {"k": 1}], ["1", "true", '{"k":1}']),
        (7, ["7"]),
        (None, []),
    ],
)
def test_tag_values_in_every_shape(value: Any, tags: list[str]) -> None:
    assert tag_list(value) == tags


def test_tags_merge_across_keys_in_order_without_duplicates_or_blanks() -> None:
    attributes = {
        "tag.tags": "late",
        "langfuse.trace.tags": ["t1", "t2"],
        "langfuse.tags": "t2,,t3",
        "langfuse.observation.metadata.langfuse_tags": '["t4"]',
        "ai.telemetry.metadata.tags": ["t1", "t5"],
        "langfuse.trace.metadata": {"langfuse_tags": ["t6"]},
        "langfuse.observation.metadata.tags": ["not-a-trace-tag"],
    }
    assert read_tags(attributes) == ("t1", "t2", "t3", "t4", "t5", "late", "t6")


def test_trace_metadata_merges_blob_and_flattened_keys_decoded() -> None:
    attributes = {
        "langfuse.trace.metadata": '{"a": 1, "tenant": "blob"}',
        "langfuse.trace.metadata.tenant": '"acme"',
        "langfuse.trace.metadata.deep.key": "{'x': [1]}",
        "ai.telemetry.metadata.sessionId": "s1",
        "traceloop.association.properties.team": "core",
        "langfuse.observation.metadata.not_trace": "x",
    }
    metadata = read_metadata(
        attributes,
        "langfuse.trace.metadata",
        ("langfuse.trace.metadata.", "ai.telemetry.metadata.", "traceloop.association.properties."),
    )
    assert metadata == {
        "a": 1,
        "tenant": "acme",
        "deep.key": {"x": [1]},
        "sessionId": "s1",
        "team": "core",
    }


def test_flattened_metadata_is_merged_prefix_by_prefix_not_in_attribute_order() -> None:
    attributes = {"ai.telemetry.metadata.team": "late", "langfuse.trace.metadata.team": "early"}
    prefixes = ("langfuse.trace.metadata.", "ai.telemetry.metadata.")
    assert read_metadata(attributes, "langfuse.trace.metadata", prefixes) == {"team": "late"}
    assert read_metadata(attributes, "langfuse.trace.metadata", prefixes[::-1]) == {"team": "early"}


def test_a_metadata_blob_that_is_not_an_object_is_kept_whole() -> None:
    metadata = read_metadata({"m": '["x"]'}, "m", ("m.",))
    assert metadata == {"metadata": ["x"]}


@pytest.mark.parametrize(
    ("attributes", "public"),
    [
        ({"langfuse.trace.public": True}, True),
        ({"langfuse.trace.public": "true"}, True),
        ({"langfuse.public": "TRUE"}, True),
        ({"langfuse.trace.public": False}, False),
        ({"langfuse.trace.public": "false"}, False),
        ({"langfuse.trace.public": 1}, None),
        ({}, None),
    ],
)
def test_public_flag(attributes: dict[str, Any], public: bool | None) -> None:
    assert read_public(attributes) is public


# ── JSON safety ───────────────────────────────────────────────────────────────────────


def test_jsonable_makes_any_decoded_value_strict_json() -> None:
    value = {
        "bytes": b"\x00\xff",
        "nan": math.nan,
        "inf": [math.inf, -math.inf],
        "set": {"b", "a"},
        "tuple": (1, 2),
        1: "int key",
        ("t", 1): "tuple key",
        "huge": 1 << 20_000,
        "complex": 1j,
        "surrogate\udc80": "lone \ud800",
    }
    converted = jsonable(value)
    json.dumps(converted, allow_nan=False)
    assert converted["bytes"] == "AP8="
    assert converted["nan"] == "NaN"
    assert converted["inf"] == ["Infinity", "-Infinity"]
    assert converted["set"] == ["a", "b"]
    assert converted["tuple"] == [1, 2]
    assert converted["1"] == "int key"
    assert converted['["t",1]'] == "tuple key"
    assert converted["huge"] == "[integer too large]"
    assert converted["surrogate\ufffd"] == "lone \ufffd"
    json.dumps(converted, ensure_ascii=False).encode("utf-8")


def test_jsonable_bounds_nesting() -> None:
    deep: Any = "leaf"
    for _ in range(5_000):
        deep = [deep]
    text = json.dumps(jsonable(deep))
    assert "[nested too deep]" in text and "leaf" not in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("as sent", "as sent"),
        ('{"a": 1}', '{"a": 1}'),
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
        (5, "5"),
        (None, None),
    ],
)
def test_as_text_keeps_strings_and_encodes_the_rest(value: Any, text: str | None) -> None:
    assert as_text(value) == text


# ── The fast paths agree with the general ones ────────────────────────────────────────


def json_loads_or_refused(text: str) -> tuple[bool, Any]:
    """What parse_json must answer for a text that starts like a JSON document."""
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def typed(result: tuple[bool, Any]) -> tuple[bool, type, Any]:
    return result[0], type(result[1]), result[1]


json_like_texts = st.one_of(
    st.text(max_size=12).map(json.dumps),  # strings, with escapes where JSON needs them
    st.text(max_size=12).map(lambda text: f'"{text}"'),  # quoted as is: maybe not JSON
    st.integers(min_value=0, max_value=10**25).map(str),
    st.from_regex(r"\A[0-9]{1,22}\Z"),  # leading zeros, long digit runs
    st.from_regex(r"\A[0-9٠-٩²]{1,4}\Z"),  # digits that are not ASCII
    st.sampled_from(["true", "false", "null", " true", "true ", '"a" ', '"\\u00e9"', '"\t"']),
)


@given(json_like_texts)
def test_parse_json_reads_short_documents_as_json_loads_does(text: str) -> None:
    assert typed(parse_json(text)) == typed(json_loads_or_refused(text))


def test_parse_json_refuses_control_characters_inside_a_string_as_json_does() -> None:
    assert parse_json('"a\tb"') == (False, None)
    assert parse_json('"a\\tb"') == (True, "a\tb")


alias_keys = st.sampled_from([*SESSION_ALIASES.keys, *USER_ALIASES.keys, *TAG_ALIASES, "other"])
ALIAS_TABLES = [
    (SESSION_ALIASES.keys, SESSION_ALIASES.ranks),
    (USER_ALIASES.keys, USER_ALIASES.ranks),
    (TAG_ALIASES, TAG_RANKS),
]


@given(st.lists(alias_keys, max_size=8))
def test_keys_present_are_the_alias_keys_a_span_has_in_precedence_order(keys: list[str]) -> None:
    attributes = dict.fromkeys(reversed(keys), "v")  # an insertion order unlike the aliases'
    for aliases, ranks in ALIAS_TABLES:
        assert keys_present(attributes, ranks) == [key for key in aliases if key in attributes]


@given(st.lists(alias_keys, max_size=8))
def test_keys_present_reads_a_tuple_of_keys_as_it_reads_the_mapping(keys: list[str]) -> None:
    attributes = dict.fromkeys(keys, "v")
    for _, ranks in ALIAS_TABLES:
        assert keys_present(tuple(attributes), ranks) == keys_present(attributes, ranks)


id_values = st.sampled_from(
    [None, "", "  ", '""', "s1", quoted("s1"), "x" * 201, 7, True, ["s"], {"s": 1}]
)
session_attributes = st.dictionaries(
    st.sampled_from([*SESSION_ORDER[:6], *BLOBS, "other"]),
    st.one_of(id_values, st.sampled_from(['{"sessionId": "in-blob"}', "{'thread_id': 5}"])),
    max_size=5,
)


@given(session_attributes)
def test_find_id_with_the_keys_present_given_reads_as_read_id(
    attributes: dict[str, Any],
) -> None:
    reading = read_id(attributes, SESSION_ALIASES)
    present = keys_present(attributes, SESSION_ALIASES.ranks)
    expected = (reading.value, reading.source, reading.problems)
    assert find_id(attributes, SESSION_ALIASES) == expected
    assert find_id(attributes, SESSION_ALIASES, present) == expected


def test_find_id_reports_a_first_key_it_skips_once() -> None:
    attributes = {"session.id": "", "gen_ai.conversation.id": "c1"}
    value, source, problems = find_id(attributes, SESSION_ALIASES, ["session.id"])
    assert (value, source) == (None, None)  # only the keys given are looked up
    assert [problem.code for problem in problems] == ["session_id_empty"]
    present = ["session.id", "gen_ai.conversation.id"]
    value, source, problems = find_id(attributes, SESSION_ALIASES, present)
    assert (value, source, len(problems)) == ("c1", "gen_ai.conversation.id", 1)


def test_flattened_keys_come_prefix_by_prefix_in_attribute_order() -> None:
    keys = ["metadata.b", "langfuse.trace.metadata.a", "metadata.", "x", "metadata.c"]
    prefixes = ("langfuse.trace.metadata.", "metadata.")
    assert flattened_keys(keys, prefixes) == (
        ("langfuse.trace.metadata.a", "a"),
        ("metadata.b", "b"),
        ("metadata.c", "c"),
    )
    assert flattened_keys(["x", "y"], prefixes) == ()


def test_a_flattened_key_wins_over_the_blob_entry_of_its_name() -> None:
    attributes = {
        "langfuse.trace.metadata.k": '"flat"',
        "langfuse.trace.metadata": '{"k": "blob", "j": 1}',
    }
    metadata = read_metadata(attributes, "langfuse.trace.metadata", ("langfuse.trace.metadata.",))
    assert metadata == {"k": "flat", "j": 1}
    assert list(metadata) == ["k", "j"]


def test_id_aliases_must_not_repeat_a_key() -> None:
    with pytest.raises(ValueError, match="repeat"):
        IdAliases("session", ("session.id", "session.id"), ())
