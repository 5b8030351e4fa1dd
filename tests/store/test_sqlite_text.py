"""Large text is stored compressed and read back exactly as it was written."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from skein.records import TraceAttributes
from skein.store.sqlite import SQLiteStore
from skein.store.sqlite_text import COMPRESS_ABOVE_CHARS, LEVEL, SMALL_INPUT_BYTES, pack, unpack
from tests.store.factories import PROJECT_ID, TRACE_ID, make_batch, make_observation

PROSE = "The agent looked up order 4411 and found it had shipped on Tuesday, héllo ✓. "


def long_text(tag: str) -> str:
    return f"{tag}: " + PROSE * (2 * COMPRESS_ABOVE_CHARS // len(PROSE))


def test_short_text_and_none_are_stored_as_they_are() -> None:
    short = "x" * COMPRESS_ABOVE_CHARS
    assert pack(short) is short
    assert pack(None) is None
    assert unpack(short) is short
    assert unpack(None) is None


def test_long_text_is_stored_as_fewer_bytes_and_read_back_equal() -> None:
    text = long_text("answer")
    packed = pack(text)
    assert isinstance(packed, bytes)
    assert len(packed) < len(text.encode()) * 0.8
    assert unpack(packed) == text


def test_every_frame_records_its_size_which_unpack_needs() -> None:
    for text in (long_text("answer"), long_text("large answer") * (SMALL_INPUT_BYTES // 1000)):
        packed = pack(text)
        assert isinstance(packed, bytes)
        assert zstandard.get_frame_parameters(packed).content_size == len(text.encode())


def test_text_past_the_small_input_size_is_packed_at_the_level_as_is() -> None:
    text = long_text("large answer") * (SMALL_INPUT_BYTES // 1000)
    assert len(text.encode()) > SMALL_INPUT_BYTES
    assert pack(text) == zstandard.ZstdCompressor(level=LEVEL).compress(text.encode())


def test_zlib_streams_of_databases_written_before_zstandard_still_read_back() -> None:
    text = long_text("older answer")
    for stream in (zlib.compress(text.encode(), 1), huffman_only(text.encode())):
        assert unpack(stream) == text


def test_threads_pack_and_unpack_at_the_same_time() -> None:
    texts = [long_text(f"answer {n}") for n in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        round_trips = list(pool.map(lambda t: unpack(pack(t)), texts))
    assert round_trips == texts


def huffman_only(data: bytes) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS, 8, zlib.Z_HUFFMAN_ONLY)
    return compressor.compress(data) + compressor.flush()


@given(st.text(min_size=COMPRESS_ABOVE_CHARS - 5, max_size=3 * COMPRESS_ABOVE_CHARS))
def test_any_text_round_trips_and_never_grows(text: str) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8")  # storable text has no surrogates
    packed = pack(text)
    assert unpack(packed) == text
    if isinstance(packed, bytes):
        assert len(packed) < len(text.encode())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(str(tmp_path / "skein.db"))
    yield opened
    opened.close()


def test_the_store_compresses_input_and_output_and_reads_them_back(store: SQLiteStore) -> None:
    trace = TraceAttributes(input=long_text("trace in"), output=long_text("trace out"))
    written = make_observation(input=long_text("in"), output=long_text("out"), trace=trace)
    store.write([make_batch(written)])

    [read] = store.list_observations(PROJECT_ID, TRACE_ID)
    assert (read.input, read.output) == (written.input, written.output)
    assert (read.trace.input, read.trace.output) == (trace.input, trace.output)
    detail = store.get_trace_detail(PROJECT_ID, TRACE_ID)
    assert detail is not None
    assert (detail.io.input, detail.io.output) == (trace.input, trace.output)
    assert detail.observations[0].input == written.input
    io = store.get_trace_io(PROJECT_ID, [TRACE_ID])[TRACE_ID]
    assert (io.input, io.output) == (trace.input, trace.output)
    assert stored_types(store.path) == ("blob", "blob", "blob", "blob")


def test_short_text_stays_text_in_the_database(store: SQLiteStore) -> None:
    store.write([make_batch(make_observation(input="hi", output="hello"))])
    assert stored_types(store.path)[:2] == ("text", "text")
    [read] = store.list_observations(PROJECT_ID, TRACE_ID)
    assert (read.input, read.output) == ("hi", "hello")


def stored_types(path: str) -> tuple[str, ...]:
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT typeof(input), typeof(output), typeof(trace_input), typeof(trace_output)"
            " FROM observations"
        ).fetchone()
    return tuple(row)


def test_store_prepare_write_leaves_the_stored_values_unchanged(store: SQLiteStore) -> None:
    written = make_observation(input=long_text("in"), output=long_text("out"))
    batch = make_batch(written)
    store.prepare_write(batch)
    store.write([batch])
    [read] = store.list_observations(PROJECT_ID, TRACE_ID)
    assert (read.input, read.output) == (written.input, written.output)
    assert stored_types(store.path)[:2] == ("blob", "blob")
