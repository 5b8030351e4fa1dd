"""Skein: LLM observability centred on sessions.

The Python SDK's API is importable from here (`from skein import observe, get_client,
session`). It is loaded on first use, so importing `skein` for the server or the CLI does
not load OpenTelemetry, and importing the SDK never loads the server's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skein.sdk.client import Skein, get_client
    from skein.sdk.context import (
        ContextExecutor,
        bind_context,
        propagate_attributes,
        session,
        submit_with_context,
    )
    from skein.sdk.decorators import observe
    from skein.sdk.spans import SkeinGeneration, SkeinSpan

__version__ = "0.1.0"

# Public name → the module that defines it.
SDK_EXPORTS = {
    "ContextExecutor": "skein.sdk.context",
    "Skein": "skein.sdk.client",
    "SkeinGeneration": "skein.sdk.spans",
    "SkeinSpan": "skein.sdk.spans",
    "bind_context": "skein.sdk.context",
    "get_client": "skein.sdk.client",
    "observe": "skein.sdk.decorators",
    "propagate_attributes": "skein.sdk.context",
    "session": "skein.sdk.context",
    "submit_with_context": "skein.sdk.context",
}

__all__ = [
    "ContextExecutor",
    "Skein",
    "SkeinGeneration",
    "SkeinSpan",
    "__version__",
    "bind_context",
    "get_client",
    "observe",
    "propagate_attributes",
    "session",
    "submit_with_context",
]


def __getattr__(name: str) -> Any:
    module_name = SDK_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'skein' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *SDK_EXPORTS})
