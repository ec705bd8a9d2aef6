"""`safeguard check-note`: check case-note wording against the language rules, like a linter."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STDIN = "-"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-note",
        help="check case-note wording for language that blames the child",
        description=(
            "Check case notes for wording that can be used against a child (seed 002 section "
            "4.7 and published guidance), and suggest better wording. Text inside quotation "
            "marks is what someone said and is never flagged. Prints FILE:LINE:COL  rule-id  "
            '"found text"  -> better wording. Exit status: 0 nothing found, 1 wording to '
            "consider, 2 bad input (unreadable file, not UTF-8 text, a directory, bad rules)."
        ),
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="note files to check; '-' or nothing reads standard input",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"findings": [...]} with offsets, rule, reason, alternatives, source',
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="language rules file (default: knowledge/language_rules.yml)",
    )
    parser.set_defaults(func=run)


class BadInput(Exception):
    """An input that cannot be checked; the message is one line for stderr."""


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM is dropped) or BadInput; NUL bytes mean it is not text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{name}: not UTF-8 text") from None
    if "\x00" in text:
        raise BadInput(f"{name}: not a text file (it contains NUL bytes)")
    return text


def read_input(name: str) -> str:
    if name == STDIN:
        stream = getattr(sys.stdin, "buffer", None)
        try:
            if stream is not None:
                return decode(stream.read(), "standard input")
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise BadInput("standard input: not UTF-8 text") from None
        except OSError as exc:
            raise BadInput(f"standard input: cannot read ({exc.strerror or exc})") from None
    path = Path(name)
    if path.is_dir():
        raise BadInput(f"{name}: is a directory, not a note file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{name}: file not found") from None
    except OSError as exc:
        raise BadInput(f"{name}: cannot read ({exc.strerror or exc})") from None
    return decode(data, name)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run(args: argparse.Namespace) -> int:
    from bot.core.datafile import DataFileError  # heavy: imported on first use, not at start-up
    from bot.core.language import (  # heavy: imported on first use, not at start-up
        MAX_CHARS,
        check,
        default_rules,
        load_rules,
        was_truncated,
    )

    names = args.files or [STDIN]
    if names.count(STDIN) > 1:
        print("safeguard check-note: standard input ('-') can be given once", file=sys.stderr)
        return 2
    texts: list[tuple[str, str]] = []
    try:
        for name in names:
            texts.append((name, read_input(name)))
    except BadInput as exc:
        print(f"safeguard check-note: {exc}", file=sys.stderr)
        return 2
    try:
        rules = load_rules(args.rules) if args.rules else default_rules()
    except DataFileError as exc:
        print(f"safeguard check-note: {exc}", file=sys.stderr)
        return 2

    several = len(texts) > 1
    records: list[dict] = []
    total = 0
    for name, text in texts:
        if was_truncated(text):
            print(
                f"safeguard check-note: {name}: only the first {MAX_CHARS} characters were checked",
                file=sys.stderr,
            )
        findings = check(text, rules)
        total += len(findings)
        for finding in findings:
            if args.json:
                record = finding.as_dict()
                if several:
                    record = {"file": name, **record}
                records.append(record)
            else:
                better = finding.alternatives[0] if finding.alternatives else ""
                print(
                    f"{name}:{finding.line}:{finding.col}  {finding.rule}  "
                    f'"{_one_line(finding.text)}"  -> {better}'
                )
    if args.json:
        print(json.dumps({"findings": records}, ensure_ascii=False, indent=2))
    elif total:
        print(
            f"{total} phrase{'s' if total != 1 else ''} to consider rewording. Text inside "
            "quotation marks is never flagged.",
            file=sys.stderr,
        )
    return 1 if total else 0
