"""Large text stored compressed, and read back as it was sent.

An observation's input and output, and the trace-level input and output it carries, are
the bulk of what Skein stores (kilobytes of prompts and answers per span). Text over
`COMPRESS_ABOVE_CHARS` characters is stored as a Zstandard frame (level 1) in a BLOB;
shorter text, and text that would not shrink, stays TEXT. On the benchmark's chat text
level 1 saves 48% of the bytes at 220 MB/s on this project's 2.6 GHz benchmark machine,
where zlib saved 41% at 86 MB/s Huffman-only and 47% at 64 MB/s at level 1; it reads back
at 460 MB/s against zlib's 150 (bench/RESULTS.md). Databases written before Skein used
Zstandard hold zlib streams: `unpack` tells the two apart by the Zstandard frame's magic
number, so they need no migration.

The storage class is the marker: Skein only ever binds `str` to these columns, so a BLOB in
one is always a value `pack` made, and `unpack` gives back the same string.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable
from typing import TypeGuard

import zstandard

COMPRESS_ABOVE_CHARS = 1024
LEVEL = 1
# Every Zstandard frame starts with these four bytes; a zlib stream never does (its first
# byte is 0x78 for the 32 KiB window every zlib writer uses by default).
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# The columns whose values go through `pack` on write and must go through `unpack` on read.
PACKED_COLUMNS = ("input", "output", "trace_input", "trace_output")


def pack(text: str | None) -> str | bytes | None:
    """`text` as stored: Zstandard-compressed bytes when long enough to be worth it."""
    if text is None or len(text) <= COMPRESS_ABOVE_CHARS:
        return text
    data = text.encode()
    packed = _codecs().compressor.compress(data)
    return packed if len(packed) < len(data) else text


def unpack(value: str | bytes | None) -> str | None:
    """A stored value as the text that was written."""
    if not isinstance(value, bytes):
        return value
    if value.startswith(ZSTD_MAGIC):
        return _codecs().decompressor.decompress(value).decode()
    return zlib.decompress(value).decode()


class _Codecs(threading.local):
    """One Zstandard compressor and decompressor per thread: making one costs ~20 µs, more
    than compressing a 4 KB text with it, and one must not be used by two threads at once."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=LEVEL)
        self.decompressor = zstandard.ZstdDecompressor()


# Per-thread codec cache (filled lazily in each thread that packs or unpacks; holds no data).
_CODECS = _Codecs()


def _codecs() -> _Codecs:
    return _CODECS


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
