"""`skein doctor`: is this app's tracing configuration going to give it sessions?

Run with the app's environment (SKEIN_* or LANGFUSE_* base URL and keys). The checks, in
order; the first that fails names its cause and the fix:

1. the server answers `/api/public/health` like Skein or Langfuse  (else: wrong host)
2. the keys open `/api/public/projects`                            (else: wrong keys)
3. a traced two-turn conversation with one session id, sent through Skein's SDK, lands on
   the server as one session of two traces                          (else: what the
   server stored instead)
4. the app's recent traces (`/api/public/skein/diagnostics`): session ids on a key or case
   Skein does not read, ids set on child spans only, single-span traces without a session
   (threads dropping the tracing context), ingestion warnings about session ids.

The result is a list of findings; any of severity "error" makes the exit status 1.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skein.cli_export import Target, _opener

TIMEOUT_SECONDS = 10.0
LANDING_SECONDS = 15.0
POLL_SECONDS = 0.25
# Share of recent traces without a session, as single-span roots, that signals lost context.
LONELY_SHARE = 0.5
LONELY_MINIMUM = 5


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "ok", "warning" or "error"
    check: str
    message: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any


class Unreachable(Exception):
    """Nothing answered at the base URL."""


def fetch(target: Target, method: str, path: str, auth: bool = True) -> Answer:
    """One request; its status and JSON body (None when not JSON); Unreachable if no answer."""
    headers = {"Authorization": target.authorization()} if auth else {}
    request = urllib.request.Request(target.base_url + path, method=method, headers=headers)
    try:
        with _opener(request.full_url).open(request, timeout=TIMEOUT_SECONDS) as response:
            return Answer(response.status, _json(response.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, _json(error.read()))
    except (urllib.error.URLError, OSError) as error:
        raise Unreachable(str(getattr(error, "reason", error))) from None


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


# The conversation sender: (target, session id) → the two trace ids it sent.
Sender = Callable[[Target, str], list[str]]


def run_doctor(target: Target, send: Sender | None = None) -> list[Finding]:
    """Every finding, stopping after the first check that makes the rest meaningless."""
    findings = [check_host(target)]
    if findings[-1].severity == "error":
        return findings
    findings.append(check_keys(target))
    if findings[-1].severity == "error":
        return findings
    findings.append(check_conversation(target, send or send_conversation))
    findings.extend(check_recent_traces(target))
    return findings


def check_host(target: Target) -> Finding:
    try:
        answer = fetch(target, "GET", "/api/public/health", auth=False)
    except Unreachable as error:
        return Finding("error", "host", f"nothing answers at {target.base_url} ({error})",
                       "wrong host: set SKEIN_BASE_URL (or LANGFUSE_BASE_URL/LANGFUSE_HOST) to"
                       " the URL `skein serve` prints, e.g. http://127.0.0.1:3000")  # fmt: skip
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 200 or str(body.get("status", "")).upper() != "OK":
        return Finding("error", "host", f"{target.base_url} answered {answer.status} to"
                       " /api/public/health: it is not Skein (or Langfuse)",
                       "wrong host: point the base URL at the Skein server (no path)")  # fmt: skip
    return Finding("ok", "host", f"{target.base_url} is up (version {body.get('version', '?')})")


def check_keys(target: Target) -> Finding:
    answer = fetch(target, "GET", "/api/public/projects")
    if answer.status == 401:
        return Finding("error", "keys", f"the server refused the key {target.public_key} (401)",
                       "wrong keys: use a pair from `skein keys create` (public key pk-...,"
                       " secret key sk-...) in SKEIN_PUBLIC_KEY/SKEIN_SECRET_KEY or"
                       " LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY; check they are not swapped"
                       " or revoked")  # fmt: skip
    if answer.status != 200:
        return Finding("error", "keys", f"/api/public/projects answered {answer.status}")
    projects = (answer.body or {}).get("data") or [{}]
    return Finding("ok", "keys", f"the keys open project {projects[0].get('name', '?')!r}")


def send_conversation(target: Target, session_id: str) -> list[str]:
    """Two traced turns with one session id, sent through Skein's SDK and flushed."""
    from skein.sdk.client import Skein

    client = Skein(
        base_url=target.base_url, public_key=target.public_key, secret_key=target.secret_key
    )
    trace_ids: list[str] = []
    try:
        for turn in (1, 2):
            with client.start_as_current_span(name=f"skein-doctor turn {turn}") as span:
                span.update_trace(session_id=session_id, user_id="skein-doctor")
                with span.start_as_current_generation(name="llm", model="doctor") as call:
                    call.update(input=f"turn {turn}", output="ok")
                trace_ids.append(span.trace_id)
        client.flush()
    finally:
        client.shutdown()
    return trace_ids


def check_conversation(target: Target, send: Sender) -> Finding:
    session_id = f"skein-doctor-{uuid.uuid4().hex[:12]}"
    trace_ids = send(target, session_id)
    found = _wait_for_session(target, session_id, len(trace_ids))
    if found == len(trace_ids):
        return Finding("ok", "session", f"a two-turn conversation landed as session {session_id}")
    stored = [_trace_session(target, t) for t in trace_ids]
    return Finding("error", "session",
                   f"sent 2 turns with session {session_id}; the session holds {found},"
                   f" the traces are in sessions {stored}",
                   "the SDK's export did not arrive or the id was lost: check the app's logs"
                   " for export errors and that nothing strips the session attributes")  # fmt: skip


def _wait_for_session(target: Target, session_id: str, expected: int) -> int:
    deadline = time.monotonic() + LANDING_SECONDS
    count = 0
    while time.monotonic() < deadline:
        answer = fetch(target, "GET", f"/api/public/sessions/{session_id}")
        if answer.status == 200:
            count = len(answer.body.get("traces") or [])
            if count >= expected:
                return count
        time.sleep(POLL_SECONDS)
    return count


def _trace_session(target: Target, trace_id: str) -> str | None:
    answer = fetch(target, "GET", f"/api/public/traces/{trace_id}")
    return answer.body.get("sessionId") if answer.status == 200 else "(not stored)"


def check_recent_traces(target: Target) -> list[Finding]:
    answer = fetch(target, "GET", "/api/public/skein/diagnostics")
    if answer.status != 200:
        skipped = "the server has no Skein diagnostics (a Langfuse server?); skipped"
        return [Finding("warning", "recent traces", skipped)]
    return recent_findings(answer.body)


def recent_findings(found: dict[str, Any]) -> list[Finding]:
    """Findings about the app's recent traces from the diagnostics answer."""
    findings: list[Finding] = []
    if found["misplacedKeys"]:
        keys = ", ".join(f"{k} ({n})" for k, n in found["misplacedKeys"].items())
        findings.append(Finding("error", "wrong key or case",
            f"traces without a session carry session-like keys Skein does not read: {keys};"
            f" e.g. traces {', '.join(found['misplacedExamples'])}",
            "the id is on the wrong key or case: send it as `session_id` through the SDK"
            " (update_current_trace / propagate_attributes), the OTel attribute `session.id`,"
            " or metadata `sessionId`; to repair the past run `skein sessions backfill --key"
            f" {next(iter(found['misplacedKeys']))}`, and to fix new spans without a redeploy"
            " add a metadata_key session rule"))  # fmt: skip
    if found["childOnly"]:
        findings.append(Finding("warning", "id not on the root span",
            f"{found['childOnly']} recent traces got their session from a child span only"
            f" (e.g. {', '.join(found['childOnlyExamples'])})",
            "the id never reaches the root: set it where the trace starts (the outermost"
            " @observe or span, or propagate_attributes(session_id=...) around the request),"
            " so every span of the trace carries it"))  # fmt: skip
    lonely, traces = found["lonelyRoots"], found["traces"]
    if lonely >= LONELY_MINIMUM and lonely >= LONELY_SHARE * max(traces, 1):
        findings.append(Finding("warning", "threads drop context",
            f"{lonely} of {traces} recent traces are single spans without a session",
            "work running in threads or tasks starts new traces: pass the context along"
            " (skein's ContextExecutor, contextvars.copy_context(), or"
            " propagate_attributes inside the worker); infer sessions meanwhile with"
            " `skein sessions backfill --infer-gap 30m`"))  # fmt: skip
    for code, count in found["warnings"].items():
        findings.append(Finding("warning", "ingestion warnings",
            f"{count} session id(s) were dropped at ingestion ({code})",
            "send session ids as non-empty strings of at most 200 characters"))  # fmt: skip
    return findings or [Finding("ok", "recent traces", "no session problems in recent traces")]
