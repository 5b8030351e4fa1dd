"""`skein demo`: the command line around `skein.demo.run_demo`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from skein.settings import Settings

logger = logging.getLogger(__name__)


def add_demo_command(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="fill a running server with example sessions (through the Python SDK)",
        description=(
            "Send realistic example sessions to a running Skein server. The server URL and"
            " keys come from the flags, else SKEIN_BASE_URL / SKEIN_PUBLIC_KEY /"
            " SKEIN_SECRET_KEY (or their LANGFUSE_* names), as for the SDK."
        ),
    )
    demo.add_argument("--base-url", help="server URL (default http://127.0.0.1:3000)")
    demo.add_argument("--public-key", help="a project's public key")
    demo.add_argument("--secret-key", help="the secret key that goes with it")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.add_argument(
        "--speed", type=float, default=5.0, help="recorded seconds per real second (default 5)"
    )
    demo.add_argument("--long-turns", type=int, default=60, help="turns of the long session")
    demo.set_defaults(run=run_demo_command)


def run_demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from skein import Skein
    from skein.demo import DemoOptions, run_demo

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    client = Skein(base_url=args.base_url, public_key=args.public_key, secret_key=args.secret_key)
    if not client.auth_check():
        print(
            f"skein demo: {client.config.base_url} did not accept the keys; start `skein serve`"
            " and pass --public-key/--secret-key (or set SKEIN_PUBLIC_KEY/SKEIN_SECRET_KEY)",
            file=sys.stderr,
        )
        client.shutdown()
        return 1
    options = DemoOptions(seed=args.seed, speed=max(args.speed, 0.1), long_turns=args.long_turns)
    print(f"Sending example sessions to {client.config.base_url} …", flush=True)
    started = time.monotonic()
    try:
        report = run_demo(client, options)
    finally:
        client.shutdown()
    print(f"Sent {report.traces} traces in {len(report.sessions)} sessions"
          f" ({time.monotonic() - started:.0f} s):")  # fmt: skip
    for session_id in report.sessions:
        print(f"  {client.config.base_url}/sessions/{session_id}")
    return 0
