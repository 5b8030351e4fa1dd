"""Skein: LLM observability centred on sessions."""

from __future__ import annotations

__version__ = "0.1.0"
