"""`skein sessions ...`: repair sessions on a running server, over its HTTP API.

    skein sessions backfill --key thread_id --dry-run
    skein sessions backfill --infer-gap 30m [--confirm-history]
    skein sessions rename OLD NEW | merge --into TARGET A B | split S --at-turn 3 --new-id S2
    skein sessions move --to S TRACE_ID... | audit [--session S] | undo AUDIT_ID

The server and keys come from `--base-url`, SKEIN_BASE_URL / LANGFUSE_BASE_URL / LANGFUSE_HOST
and SKEIN_PUBLIC_KEY/SKEIN_SECRET_KEY or LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY (the
environment the SDK reads). On a terminal, progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

from skein.cli_export import ExportFailed, Target, _error_message, _opener, resolve_target
from skein.settings import Settings

PREFIX = "/api/public/skein"
CHUNK_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
TIMEOUT_SECONDS = 600.0

Handler = Callable[[argparse.Namespace, Target], int]


def add_sessions_command(commands: Any) -> None:
    """Add `sessions` to the `skein` subcommands (`commands` is argparse's subparsers)."""
    sessions: argparse.ArgumentParser = commands.add_parser(
        "sessions", help="repair, export and import sessions on a running server"
    )
    actions = sessions.add_subparsers(title="actions")
    _add_backfill(actions)
    _add_edits(actions)
    _add_portability(actions)


def _action(actions: Any, name: str, help: str, handler: Handler) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help)
    parser.add_argument("--base-url", help="server URL (default: from the environment)")
    parser.set_defaults(run=_runner(handler))
    return parser


def _runner(handler: Handler) -> Callable[[argparse.Namespace, Settings], int]:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return handler(args, resolve_target(args.base_url, os.environ))
        except ExportFailed as error:
            print(f"skein: {error}", file=sys.stderr)
            return 1

    return run


# -- HTTP ---------------------------------------------------------------------------------------


def call(
    target: Target,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    encoding: str | None = None,
) -> Any:
    """One request to the server (a JSON body, or `raw` bytes), its JSON answer;
    ExportFailed with the server's message when it fails."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Authorization": target.authorization(), "Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(
        target.base_url + path, data=data, method=method, headers=headers
    )
    try:
        with _opener(request.full_url).open(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise ExportFailed(f"{error.code} {_error_message(error)}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ExportFailed(f"cannot reach {target.base_url}: {error}") from None


def progress_stream() -> IO[str] | None:
    return sys.stderr if sys.stderr.isatty() else None


def show_progress(stream: IO[str] | None, text: str, done: bool = False) -> None:
    if stream is not None:
        stream.write(f"\r\x1b[K{text}" + ("\n" if done else ""))
        stream.flush()


# -- Backfill ------------------------------------------------------------------------------------


def _add_backfill(actions: Any) -> None:
    parser = _action(actions, "backfill", "give traces without a session one", run_backfill)
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--key", help="attribute or metadata key holding the session id (a.b.c)")
    how.add_argument("--infer-gap", help="infer: same user, gaps under this (e.g. 30m)")
    parser.add_argument(
        "--confirm-history", action="store_true", help="infer: each turn must repeat the last"
    )
    parser.add_argument("--from", dest="from_time", help="only traces started at or after (ISO)")
    parser.add_argument("--to", dest="to_time", help="only traces started before (ISO)")
    parser.add_argument("--user-id", help="only this user's traces")
    parser.add_argument("--dry-run", action="store_true", help="show what would change")


def run_backfill(args: argparse.Namespace, target: Target) -> int:
    body = backfill_body(args)
    progress = progress_stream()
    show_progress(progress, "backfill: planning…")
    plan = call(target, "POST", f"{PREFIX}/sessions/backfill", {**body, "dryRun": True})
    if args.dry_run or not plan["tracesToAssign"]:
        show_progress(progress, "backfill: planned", done=True)
        print(describe_backfill(plan, applied=False))
        return 0
    show_progress(progress, f"backfill: assigning {plan['tracesToAssign']} traces…")
    done = call(target, "POST", f"{PREFIX}/sessions/backfill", body)
    show_progress(progress, f"backfill: {done['tracesToAssign']} traces assigned", done=True)
    print(describe_backfill(done, applied=True))
    return 0


def backfill_body(args: argparse.Namespace) -> dict[str, Any]:
    found = {
        "key": args.key,
        "gap": args.infer_gap,
        "confirmHistory": args.confirm_history or None,
        "fromTimestamp": args.from_time,
        "toTimestamp": args.to_time,
        "userId": args.user_id,
    }
    return {name: value for name, value in found.items() if value is not None}


def describe_backfill(result: dict[str, Any], applied: bool) -> str:
    verb = "assigned" if applied else "would assign"
    lines = [
        f"scanned {result['tracesScanned']} traces without a session;"
        f" {verb} {result['tracesToAssign']} of them to {result['sessions']} sessions"
        f" (source {result['source']})"
    ]
    for example in result["examples"]:
        shown = ", ".join(example["traceIds"])
        lines.append(f"  {example['sessionId']}: {example['traceCount']} traces ({shown}…)")
    if applied and result.get("auditId"):
        lines.append(
            f"audit entry {result['auditId']} (undo: skein sessions undo {result['auditId']})"
        )
    return "\n".join(lines)


# -- Edits, audit log, undo ----------------------------------------------------------------------


def _add_edits(actions: Any) -> None:
    rename = _action(actions, "rename", "rename (re-key) a session", _edit("rename"))
    rename.add_argument("session_id")
    rename.add_argument("new_session_id")
    merge = _action(actions, "merge", "merge sessions into one", _edit("merge"))
    merge.add_argument("--into", required=True, help="the session they become")
    merge.add_argument("session_ids", nargs="+")
    split = _action(actions, "split", "split a session at a turn", _edit("split"))
    split.add_argument("session_id")
    split.add_argument("--at-turn", type=int, required=True, help="first turn (from 0) to move")
    split.add_argument("--new-id", required=True, help="the new session's id")
    move = _action(actions, "move", "move traces to a session", _edit("move"))
    move.add_argument("--to", help="target session (omit: out of every session)")
    move.add_argument("trace_ids", nargs="+")
    audit = _action(actions, "audit", "list the audit log", run_audit)
    audit.add_argument("--session", help="only entries touching this session")
    audit.add_argument("--limit", type=int, default=50)
    undo = _action(actions, "undo", "undo an audit entry", run_undo)
    undo.add_argument("audit_id")


def edit_body(operation: str, args: argparse.Namespace) -> dict[str, Any]:
    if operation == "rename":
        return {"sessionId": args.session_id, "newSessionId": args.new_session_id}
    if operation == "merge":
        return {"sessionIds": args.session_ids, "into": args.into}
    if operation == "split":
        return {"sessionId": args.session_id, "atTurn": args.at_turn, "newSessionId": args.new_id}
    return {"traceIds": args.trace_ids, "toSessionId": args.to}


def _edit(operation: str) -> Handler:
    def run(args: argparse.Namespace, target: Target) -> int:
        entry = call(target, "POST", f"{PREFIX}/sessions/{operation}", edit_body(operation, args))
        print(describe_entry(entry))
        return 0

    return run


def describe_entry(entry: dict[str, Any]) -> str:
    return (
        f"{entry['id']}  {entry['operation']}  {json.dumps(entry['parameters'])}"
        f"  traces: {len(entry['previous'])}  by {entry['actor']}"
        + (f"  (undone by {entry['undoneBy']})" if entry.get("undoneBy") else "")
    )


def run_audit(args: argparse.Namespace, target: Target) -> int:
    parameters = {"limit": args.limit, **({"sessionId": args.session} if args.session else {})}
    query = "?" + urllib.parse.urlencode(parameters)
    for entry in call(target, "GET", f"{PREFIX}/audit{query}")["data"]:
        print(describe_entry(entry))
    return 0


def run_undo(args: argparse.Namespace, target: Target) -> int:
    entry = call(target, "POST", f"{PREFIX}/audit/{args.audit_id}/undo", {})
    print(describe_entry(entry))
    return 0


# -- Archive and dataset ---------------------------------------------------------------------------


def _add_portability(actions: Any) -> None:
    export = _action(actions, "export", "export sessions as a portable archive", run_export)
    export.add_argument("--session-id", action="append", help="a session (repeatable)")
    export.add_argument("--user-id", help="only this user's traces")
    export.add_argument("--from", dest="from_time", help="traces started at or after (ISO)")
    export.add_argument("--to", dest="to_time", help="traces started before (ISO)")
    export.add_argument("--output", "-o", default="-", help="file (.gz: compressed); - stdout")
    imported = _action(actions, "import", "import an archive (twice changes nothing)", run_import)
    imported.add_argument("archive", help="archive file (.jsonl or .jsonl.gz)")
    langfuse = _action(actions, "import-langfuse", "import Langfuse's JSON export", run_langfuse)
    langfuse.add_argument("file", help="a trace, trace list or session as Langfuse's API gives it")
    dataset = _action(actions, "dataset", "export sessions as chat JSONL", run_dataset)
    dataset.add_argument("--session-id", action="append", help="a session (repeatable)")
    dataset.add_argument("--no-metadata", action="store_true", help="messages only")
    dataset.add_argument("--output", "-o", default="-", help="file to write; - stdout")


def run_export(args: argparse.Namespace, target: Target) -> int:
    query = [("sessionId", s) for s in args.session_id or ()]
    query += [(name, value) for name, value in (
        ("userId", args.user_id), ("fromTimestamp", args.from_time), ("toTimestamp", args.to_time),
    ) if value]  # fmt: skip
    lines = _download(target, f"{PREFIX}/archive?{urllib.parse.urlencode(query)}", args.output)
    print(f"exported {lines} archive records", file=sys.stderr)
    return 0


def run_dataset(args: argparse.Namespace, target: Target) -> int:
    query = [("sessionId", s) for s in args.session_id or ()]
    if args.no_metadata:
        query.append(("metadata", "false"))
    lines = _download(
        target, f"{PREFIX}/sessions/dataset?{urllib.parse.urlencode(query)}", args.output
    )
    print(f"exported {lines} conversations", file=sys.stderr)
    return 0


def run_import(args: argparse.Namespace, target: Target) -> int:
    with open(args.archive, "rb") as source:
        body = source.read()
    encoding = "gzip" if body[:2] == GZIP_MAGIC else None
    counts = call(target, "POST", f"{PREFIX}/archive", raw=body, encoding=encoding)
    print(json.dumps(counts))
    return 0


def _download(target: Target, path: str, output: str) -> int:
    request = urllib.request.Request(
        target.base_url + path, headers={"Authorization": target.authorization()}
    )
    progress = progress_stream()
    lines = 0
    try:
        with _opener(request.full_url).open(request, timeout=TIMEOUT_SECONDS) as response, \
                _sink(output) as sink:  # fmt: skip
            while chunk := response.read(CHUNK_BYTES):
                sink.write(chunk)
                lines += chunk.count(b"\n")
                show_progress(progress, f"{lines} lines")
    except urllib.error.HTTPError as error:
        raise ExportFailed(f"{error.code} {_error_message(error)}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ExportFailed(f"cannot reach {target.base_url}: {error}") from None
    show_progress(progress, f"{lines} lines", done=True)
    return lines


@contextlib.contextmanager
def _sink(output: str) -> Iterator[IO[bytes]]:
    if output == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    elif output.endswith(".gz"):
        with gzip.open(output, "wb") as compressed:
            yield cast(IO[bytes], compressed)
    else:
        with open(output, "wb") as plain:
            yield plain


def run_langfuse(args: argparse.Namespace, target: Target) -> int:
    with open(args.file, "rb") as source:
        body = source.read()
    print(json.dumps(call(target, "POST", f"{PREFIX}/import/langfuse", raw=body)))
    return 0
