"""One module per `safeguard` subcommand; each defines ``register(subparsers)``.

Modules here import their heavy dependencies inside the command function, so
`safeguard --help` stays fast and works without Rasa installed.
"""

from __future__ import annotations

import argparse
import sys

# Exit codes shared by the record-keeping commands (concerns, audit, retention).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3


def usage(parser: argparse.ArgumentParser) -> int:
    """A command group run without an action: its help, and exit 2."""
    parser.print_help()
    return EXIT_BAD_INPUT


def fail(message: str, code: int) -> int:
    """One plain line on stderr, and `code`."""
    print(f"safeguard: {message}", file=sys.stderr)
    return code
