"""Large text stored compressed, and read back as it was sent.

An observation's input and output, and the trace-level input and output it carries, are
the bulk of what Skein stores (kilobytes of prompts and answers per span). Text over
`COMPRESS_ABOVE_CHARS` characters is stored as a zlib stream in a BLOB; shorter text, and
text that would not shrink, stays TEXT. The stream is Huffman-coded only (`Z_HUFFMAN_ONLY`,
no LZ77 string matching): on the benchmark's chat text it saves 41% of the bytes against
47% for level 1 and 49% for level 6, at 60% of level 1's CPU time and a third of level 6's
(bench/RESULTS.md) — on a two-core server, ingestion throughput is worth more than the last
few percent. Reading inflates any zlib stream, so the choice can change without migrating.

The storage class is the marker: Skein only ever binds `str` to these columns, so a BLOB in
one is always a value `pack` made, and `unpack` gives back the same string.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable
from typing import TypeGuard

COMPRESS_ABOVE_CHARS = 1024
LEVEL = 1
MEMORY_LEVEL = 8
STRATEGY = zlib.Z_HUFFMAN_ONLY
# The columns whose values go through `pack` on write and must go through `unpack` on read.
PACKED_COLUMNS = ("input", "output", "trace_input", "trace_output")


def pack(text: str | None) -> str | bytes | None:
    """`text` as stored: zlib-compressed bytes when long enough to be worth it."""
    if text is None or len(text) <= COMPRESS_ABOVE_CHARS:
        return text
    data = text.encode()
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, MEMORY_LEVEL, STRATEGY)
    packed = compressor.compress(data) + compressor.flush()
    return packed if len(packed) < len(data) else text


def unpack(value: str | bytes | None) -> str | None:
    """A stored value as the text that was written."""
    if isinstance(value, bytes):
        return zlib.decompress(value).decode()
    return value


Packed = str | bytes | None
# Texts packed ahead of their write and not yet written that a TextPacker keeps at most
# (a request refused after it was prepared leaves its texts behind until they are evicted).
PACKER_CAPACITY = 20_000


class TextPacker:
    """Compression done ahead of a write, in the caller's thread, for the writer to pick up.

    The request that brings a batch calls `prepare` on its texts in its own worker thread;
    the single writer thread then finds each one's packed value in `pack` instead of
    compressing it itself (a text is found by identity, so only the very string object that
    was prepared matches). Anything not prepared, or evicted, is packed on the spot.
    """

    def __init__(
        self, capacity: int = PACKER_CAPACITY, pack_one: Callable[[str], Packed] = pack
    ) -> None:
        self._capacity = capacity
        self._pack_one = pack_one
        self._ready: dict[int, tuple[str, Packed]] = {}
        self._lock = threading.Lock()

    def prepare(self, texts: Iterable[str | None]) -> None:
        packed = [(text, self._pack_one(text)) for text in texts if _worth_packing(text)]
        with self._lock:
            self._ready.update((id(text), (text, value)) for text, value in packed)
            while len(self._ready) > self._capacity:
                del self._ready[next(iter(self._ready))]

    def pack(self, text: str | None) -> Packed:
        if not _worth_packing(text):
            return text
        with self._lock:
            entry = self._ready.pop(id(text), None)
        return entry[1] if entry is not None and entry[0] is text else self._pack_one(text)


def _worth_packing(text: str | None) -> TypeGuard[str]:
    return text is not None and len(text) > COMPRESS_ABOVE_CHARS
