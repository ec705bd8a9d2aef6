"""`safeguard config`: the settings this process would run with, where they come from.

Every variable safeguard reads (bot/config/settings.py): its value here, its default and what
it means. Secrets are never shown: "(set, hidden)" or "(not set)"; a password inside a
database or Redis URL is shown as ***.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="show the effective settings (secrets hidden)",
        description=(
            "Show every setting safeguard reads from its environment: the name, the value "
            "this environment gives it ('(not set)': the default applies), the default and "
            "what it means. Secrets are never shown, only whether they are set. A value "
            "that cannot be read stops this and every other command with one line naming "
            "the variable."
        ),
    )
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="one JSON object per setting, in a list")
    shape.add_argument(
        "--markdown",
        action="store_true",
        help="the settings table of the README (names, meanings, defaults; no values)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.config import settings  # heavy: imported on first use, not at start-up

    if args.markdown:
        sys.stdout.write(settings.markdown_table())
        return 0
    rows = settings.current().rows()
    if args.json:
        keys = ("name", "value", "set", "default", "meaning", "secret")
        print(json.dumps([{k: row[k] for k in keys} for row in rows], indent=2))
        return 0
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    """Aligned plain-text columns: name, value, default, meaning."""
    header = {"name": "NAME", "value": "VALUE", "default": "DEFAULT", "meaning": "MEANING"}
    lines = [header, *rows]
    widths = {k: max(len(str(line[k])) for line in lines) for k in ("name", "value", "default")}
    return "\n".join(
        f"{line['name']:<{widths['name']}}  {line['value']:<{widths['value']}}  "
        f"{line['default']:<{widths['default']}}  {line['meaning']}"
        for line in lines
    )
