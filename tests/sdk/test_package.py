"""The package surface: `__all__` is accurate and the SDK never loads the server's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

import skein

SERVER_ONLY = ("starlette", "uvicorn", "pydantic", "pydantic_settings")
SDK_MODULES = (
    "skein",
    "skein.sdk.attributes",
    "skein.sdk.client",
    "skein.sdk.config",
    "skein.sdk.context",
    "skein.sdk.decorators",
    "skein.sdk.export",
    "skein.sdk.pipeline",
    "skein.sdk.processor",
    "skein.sdk.public_api",
    "skein.sdk.registry",
    "skein.sdk.scores",
    "skein.sdk.spans",
)


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert skein.__all__ == sorted(skein.__all__)
    for name in skein.__all__:
        assert getattr(skein, name) is not None
    assert set(skein.SDK_EXPORTS) | {"__version__"} == set(skein.__all__)
    assert skein.__version__ == "0.1.0"


def test_every_public_sdk_name_is_exported() -> None:
    from skein.sdk import client, context, decorators, spans

    expected = {"Skein", "get_client", "observe", "propagate_attributes", "session"}
    expected |= {"submit_with_context", "ContextExecutor", "bind_context"}
    expected |= {"SkeinSpan", "SkeinGeneration"}
    assert expected <= set(skein.__all__)
    assert skein.observe is decorators.observe
    assert skein.Skein is client.Skein
    assert skein.session is context.session
    assert skein.SkeinSpan is spans.SkeinSpan


def test_importing_the_sdk_does_not_import_server_dependencies() -> None:
    program = (
        "import importlib, json, sys\n"
        f"for name in {SDK_MODULES!r}: importlib.import_module(name)\n"
        "from skein import observe, get_client, propagate_attributes, session\n"
        f"print(json.dumps([m for m in {SERVER_ONLY!r} if m in sys.modules]))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(finished.stdout) == []


def test_importing_skein_alone_does_not_load_opentelemetry() -> None:
    program = "import json, sys, skein\nprint(json.dumps('opentelemetry' in sys.modules))\n"
    finished = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(finished.stdout) is False
