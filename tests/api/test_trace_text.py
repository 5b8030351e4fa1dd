"""A trace written from its rows is the trace shaped from its decoded records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.responses import JSONResponse

from skein.api.json_text import string_text
from skein.api.shapes import observation_json, trace_json, without_metrics
from skein.api.trace_text import observation_pieces, trace_text
from skein.fold import fold_trace
from skein.records import Observation
from skein.store.base import TraceIO
from skein.store.rows import observation_from_row, observation_row
from tests.store.factories import make_full_observation, make_observation

PROJECT = "project-ü"
OBSERVATIONS = [
    make_full_observation(),
    make_full_observation(id="2" * 16, input="not JSON", output=None, metadata={}),
    make_full_observation(id="3" * 16, model_parameters="0.7", usage={}, cost={"input": 1}),
    make_full_observation(id="4" * 16, model_parameters="hot", completion_start_ns=None),
    make_observation(id="5" * 16, parent_id="1" * 16, prompt_version=None, cost_source=None),
]


def stored_row(observation: Observation) -> tuple[Any, ...]:
    """The observation as a store reads it back: `OBSERVATION_COLUMNS`, text as written."""
    return observation_row(PROJECT, observation)[1:]


def observation_text(row: tuple[Any, ...]) -> str:
    return "".join(observation_pieces(string_text(PROJECT), row))


@pytest.mark.parametrize("observation", OBSERVATIONS)
def test_an_observation_row_is_written_as_observation_json_shapes_it(
    observation: Observation,
) -> None:
    written = json.loads(observation_text(stored_row(observation)))

    expected = json.loads(JSONResponse(observation_json(PROJECT, observation)).body)
    assert written == expected
    assert list(written) == list(expected)


def test_an_observation_without_json_text_is_written_byte_for_byte() -> None:
    observation = make_full_observation(input="plain", output="text", model_parameters=None)

    written = observation_text(stored_row(observation))

    assert written.encode() == JSONResponse(observation_json(PROJECT, observation)).body


@pytest.mark.parametrize("metrics", [True, False])
@pytest.mark.parametrize("io", [None, TraceIO('{"q": "?"}', "plain answer")])
def test_a_trace_is_written_as_its_shapes_and_the_observations(
    io: TraceIO | None, metrics: bool
) -> None:
    trace = fold_trace(OBSERVATIONS)
    scores = [{"id": "s1", "value": 0.5}]

    rows = [stored_row(o) for o in OBSERVATIONS]

    written = json.loads(trace_text(PROJECT, trace, io, rows, scores, metrics))

    shaped = trace_json(PROJECT, trace, io)
    shaped["observations"] = [observation_json(PROJECT, o) for o in OBSERVATIONS]
    shaped["scores"] = scores
    expected = json.loads(JSONResponse(shaped if metrics else without_metrics(shaped)).body)
    assert written == expected
    assert list(written) == list(expected)


def test_an_empty_cost_source_is_written_as_the_decoder_reads_it() -> None:
    row = stored_row(make_observation())
    row = (*row[:-1], "")

    written = json.loads(observation_text(row))

    assert written["costSource"] == observation_from_row(row).cost_source
