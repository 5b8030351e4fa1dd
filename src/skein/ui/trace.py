"""One trace: its observation tree with a timing waterfall, the selected observation's
input, output, metadata, usage and cost, and its session linked. Also the small endpoints
the pages' script loads on demand: a turn's waterfall, an observation's detail, a value in
full."""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlette.responses import PlainTextResponse, Response

from skein.fold import TraceSummary
from skein.records import Observation
from skein.store.base import ObservationQuery, Store, StoredWarning, TraceIO, TraceQuery
from skein.ui.messages import decode, parse_messages
from skein.ui.values import Shown, full_text, pretty_json, show_data, show_value
from skein.ui.waterfall import Waterfall, build_waterfall
from skein.ui.web import UI, Call, PageError

OBSERVATION_FIELDS = ("input", "output", "metadata", "model_parameters")
IO_FIELDS = ("input", "output")


@dataclass(frozen=True, slots=True)
class ObservationView:
    observation: Observation
    input: Shown
    output: Shown
    metadata: Shown
    model_parameters: Shown


@dataclass(frozen=True, slots=True)
class SessionLink:
    session_id: str
    turn: int  # from 1
    page: int


@dataclass(frozen=True, slots=True)
class TraceView:
    trace: TraceSummary
    input: Shown
    output: Shown
    waterfall: Waterfall
    selected: ObservationView | None
    session: SessionLink | None
    warnings: tuple[StoredWarning, ...]


def trace_page(ui: UI, call: Call) -> Response:
    store, project_id = call.viewer.store, call.viewer.project.id
    trace_id = call.path("trace_id")
    detail = store.get_trace_detail(project_id, trace_id)
    if detail is None:
        raise PageError(404, "Trace not found", f"There is no trace {trace_id!r} here.")
    chosen = call.query.get("observation") or detail.trace.root_id
    selected = next((o for o in detail.observations if o.id == chosen), None)
    view = TraceView(
        trace=detail.trace,
        input=show_value(detail.io.input, "input"),
        output=show_value(detail.io.output, "output"),
        waterfall=build_waterfall(detail.observations),
        selected=observation_view(selected) if selected else None,
        session=session_link(store, project_id, detail.trace, ui.options.turns_per_page),
        warnings=tuple(store.list_warnings(project_id, trace_id=trace_id, limit=20)),
    )
    return ui.render(call, "trace.html", {"view": view})


def observation_view(observation: Observation) -> ObservationView:
    return ObservationView(
        observation=observation,
        input=show_value(observation.input, "input"),
        output=show_value(observation.output, "output"),
        metadata=show_data(dict(observation.metadata)),
        model_parameters=show_value(observation.model_parameters, "data"),
    )


def session_link(
    store: Store, project_id: str, trace: TraceSummary, per_page: int
) -> SessionLink | None:
    """Where the trace sits in its session's replay."""
    if trace.session_id is None:
        return None
    earlier = TraceQuery(
        session_id=trace.session_id, to_ns=trace.start_ns, limit=1, with_total=True
    )
    before = store.query_traces(project_id, earlier).total or 0
    return SessionLink(trace.session_id, before + 1, max(1, math.ceil((before + 1) / per_page)))


def observation_fragment(ui: UI, call: Call) -> Response:
    observation = _observation(call)
    return ui.fragment("_partials.html", "observation_detail", observation_view(observation))


def waterfall_fragment(ui: UI, call: Call) -> Response:
    trace_id = call.path("trace_id")
    query = ObservationQuery(trace_id=trace_id, with_io=False, limit=1000)
    observations = call.viewer.store.query_observations(call.viewer.project.id, query).items
    if not observations:
        raise PageError(404, "Trace not found", f"There is no trace {trace_id!r} here.")
    return ui.fragment("_partials.html", "waterfall", build_waterfall(observations), trace_id)


def value_endpoint(ui: UI, call: Call) -> Response:
    """A stored value in full: `/ui/value/{trace}/io/input` (the trace's I/O) or
    `/ui/value/{trace}/{observation}/{field}`; `?message=M&part=P` picks one message part."""
    source, name = call.path("source"), call.path("field")
    text = _trace_io_text(call, name) if source == "io" else _observation_text(call, name)
    if text is None:
        raise PageError(404, "No such value")
    message, part = call.query.get("message"), call.query.get("part")
    if message is not None and part is not None:
        text = _message_part(text, name, message, part)
    else:
        text = full_text(text)
    return PlainTextResponse(text, headers={"Cache-Control": "no-store"})


def _trace_io_text(call: Call, name: str) -> str | None:
    if name not in IO_FIELDS:
        raise PageError(404, "No such value")
    trace_id = call.path("trace_id")
    io = call.viewer.store.get_trace_io(call.viewer.project.id, [trace_id]).get(trace_id)
    value: str | None = getattr(io or TraceIO(), name)
    return value


def _observation_text(call: Call, name: str) -> str | None:
    if name not in OBSERVATION_FIELDS:
        raise PageError(404, "No such value")
    observation = _observation(call, call.path("source"))
    if name == "metadata":
        return pretty_json(dict(observation.metadata)) if observation.metadata else None
    value: str | None = getattr(observation, name)
    return value


def _observation(call: Call, observation_id: str | None = None) -> Observation:
    wanted = observation_id or call.path("observation_id")
    found = call.viewer.store.get_observation(call.viewer.project.id, wanted)
    if found is None or found.trace_id != call.path("trace_id"):
        raise PageError(404, "Observation not found", f"There is no observation {wanted!r}.")
    return found


def _message_part(text: str, side: str, message: str, part: str) -> str:
    messages = parse_messages(decode(text), side)
    try:
        return messages[int(message)].parts[int(part)].text if messages else full_text(text)
    except (ValueError, IndexError):
        raise PageError(404, "No such message part") from None
