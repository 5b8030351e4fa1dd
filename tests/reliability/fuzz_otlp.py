"""A coverage-guided fuzzer (atheris, libFuzzer) for the OTLP request path below HTTP:
decompression, decoding (protobuf or OTLP/JSON), the guards, and mapping. Anything but a
`SkeinError` (a 4xx answer) escaping it is a crash, which atheris reports with the input.

    python -m tests.reliability.fuzz_otlp -runs=100000          # a longer run by hand
    python -m tests.reliability.fuzz_otlp -max_total_time=600

`test_fuzz.py` runs it briefly as part of the suite.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from skein.errors import SkeinError
    from skein.ingest.guards import cap_attributes, drop_foreign_spans
    from skein.ingest.mapping import IngestContext, map_request
    from skein.ingest.otlp import decode_request

MEDIA_TYPES = ("application/x-protobuf", "application/json")
ENCODINGS = (None, "gzip", "deflate")
MAX_DECODED_BYTES = 1_000_000


def one_input(data: bytes) -> None:
    """The first byte picks the media type and encoding; the rest is the body."""
    if not data:
        return
    media_type = MEDIA_TYPES[data[0] & 1]
    encoding = ENCODINGS[(data[0] >> 1) % len(ENCODINGS)]
    try:
        decoded = decode_request(
            data[1:], media_type, encoding, max_decoded_bytes=MAX_DECODED_BYTES
        )
    except SkeinError:
        return
    decoded = drop_foreign_spans(decoded, "pk-fuzz")
    decoded, _ = cap_attributes(decoded, 64)
    batch = map_request(decoded, "project", IngestContext())
    assert len(batch.observations) + len(batch.rejected) == len(decoded.spans) + len(
        decoded.rejected
    )


def main(argv: list[str]) -> None:
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
