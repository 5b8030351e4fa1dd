"""Large text stored compressed, and read back as it was sent.

An observation's input and output, and the trace-level input and output it carries, are
the bulk of what Skein stores (kilobytes of prompts and answers per span). Text over
`COMPRESS_ABOVE_CHARS` characters is stored as a Zstandard frame (level 1, with level 1's
parameters for 16-128 KiB also below 16 KiB: `SMALL_INPUT_PARAMETERS`) in a BLOB;
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

import zstandard

COMPRESS_ABOVE_CHARS = 1024
LEVEL = 1
# Zstandard's own parameters for level 1 at 16-128 KiB (window 2^17, hash table 2^13, matches
# of 6 bytes and more), used for every input up to 128 KiB: zstd shrinks the window to fit.
# Level 1's row for inputs under 16 KiB, where most texts fall, takes matches from 5 bytes,
# which on the benchmark's chat text costs 12% more time for 1.5% fewer bytes. Larger inputs
# keep level 1 as is (a wider window). Every frame records its size, which `unpack` needs.
SMALL_INPUT_BYTES = 128 * 1024
SMALL_INPUT_PARAMETERS = zstandard.ZstdCompressionParameters(
    window_log=17, chain_log=12, hash_log=13, search_log=1, min_match=6, target_length=0,
    strategy=zstandard.STRATEGY_FAST, write_content_size=True,
)  # fmt: skip
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
    codecs = _codecs()
    compressor = codecs.compressor if len(data) <= SMALL_INPUT_BYTES else codecs.large_compressor
    packed = compressor.compress(data)
    return packed if len(packed) < len(data) else text


def unpack(value: str | bytes | None) -> str | None:
    """A stored value as the text that was written."""
    if not isinstance(value, bytes):
        return value
    if value.startswith(ZSTD_MAGIC):
        return _codecs().decompressor.decompress(value).decode()
    return zlib.decompress(value).decode()


class _Codecs(threading.local):
    """Zstandard compressors and a decompressor per thread: making one costs ~20 µs, more
    than compressing a 4 KB text with it, and one must not be used by two threads at once."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(compression_params=SMALL_INPUT_PARAMETERS)
        self.large_compressor = zstandard.ZstdCompressor(level=LEVEL)
        self.decompressor = zstandard.ZstdDecompressor()


# Per-thread codec cache (filled lazily in each thread that packs or unpacks; holds no data).
_CODECS = _Codecs()


def _codecs() -> _Codecs:
    return _CODECS


Packed = str | bytes | None
