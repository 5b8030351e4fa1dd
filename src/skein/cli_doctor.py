"""`skein doctor`: check an app's tracing configuration against the server it names.

    SKEIN_BASE_URL=... SKEIN_PUBLIC_KEY=... SKEIN_SECRET_KEY=... skein doctor

(or the LANGFUSE_* variables). Prints each finding and its fix; exits 1 when one is an
error. The checks are described in `skein.repair.doctor`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from skein.cli_export import ExportFailed, resolve_target
from skein.repair.doctor import Finding, run_doctor
from skein.settings import Settings

MARKS = {"ok": "ok  ", "warning": "warn", "error": "FAIL"}


def add_doctor_command(commands: Any) -> None:
    doctor: argparse.ArgumentParser = commands.add_parser(
        "doctor", help="check that an app's configuration gives it sessions"
    )
    doctor.add_argument("--base-url", help="server URL (default: from the environment)")
    doctor.set_defaults(run=run_doctor_command)


def run_doctor_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        target = resolve_target(args.base_url, os.environ)
    except ExportFailed as error:
        print(f"FAIL keys: {error}", file=sys.stderr)
        print("     fix: export SKEIN_PUBLIC_KEY and SKEIN_SECRET_KEY (or LANGFUSE_*)")
        return 1
    findings = run_doctor(target)
    for finding in findings:
        print(describe(finding))
    return 1 if any(f.severity == "error" for f in findings) else 0


def describe(finding: Finding) -> str:
    text = f"{MARKS[finding.severity]} {finding.check}: {finding.message}"
    return text + (f"\n     fix: {finding.fix}" if finding.fix and finding.severity != "ok" else "")
