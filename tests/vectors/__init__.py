"""Test vectors: real SDK requests captured on the wire (see `langfuse-wire/`) and helpers."""
