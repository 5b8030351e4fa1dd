"""The few JSON calls to the public API (auth check, scores), with the standard library."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from skein import __version__

SDK_NAME = "skein-python"


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    body: Any  # the decoded JSON, or None when the body was not JSON


def auth_headers(public_key: str | None, secret_key: str | None) -> dict[str, str]:
    """HTTP Basic auth plus the SDK headers Langfuse-compatible servers read."""
    token = base64.b64encode(f"{public_key or ''}:{secret_key or ''}".encode()).decode("ascii")
    headers = {
        "Authorization": f"Basic {token}",
        "x-langfuse-sdk-name": SDK_NAME,
        "x-langfuse-sdk-version": __version__,
    }
    if public_key:
        headers["x-langfuse-public-key"] = public_key
    return headers


def call_json(
    method: str, url: str, headers: dict[str, str], timeout: float, payload: Any = None
) -> ApiResponse:
    """One JSON request; HTTP error statuses are returned, network errors raise OSError."""
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return ApiResponse(response.status, _decoded(response.read()))
    except urllib.error.HTTPError as error:
        return ApiResponse(error.code, _decoded(error.read()))


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
