"""Blind sets stay blind: find project text that shares words with a blind item, and admit a
new batch only with the items nobody here has already written.

    .venv/bin/python bench/blind_apart.py admit NEW.yml [--as triage_batch7.yml]
    .venv/bin/python bench/blind_apart.py check

DEVELOPERS.md, "Blind sets". A copy is an 8-word run, or a whole item of four words or more,
the same as a line of the project's rules, training data, tests, docs or code. Two uses:

* `check` (and tests/test_blind_apart.py): no project line copies a blind item, so a round
  that fixed a miss did it in its own words.
* `admit`: a new batch written by a helper who never saw the project can still coincide
  with what the project wrote earlier (a published example both quoted). Such items are
  dropped before any run on them, and the batch's header says which and why; the rest is
  written to tests/data/blind/. Nothing is scored here.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BLIND = ROOT / "tests" / "data" / "blind"
RUN = 8
_WORDS = re.compile(r"[a-z0-9']+")
_ID = re.compile(r"^(\s*)- id: ['\"]?([^'\"\s]+)")


def words(text: str) -> list[str]:
    return _WORDS.findall(text.lower().replace("\u2019", "'"))


def keys(text_words: list[str]) -> Iterator[tuple[str, ...]]:
    """Every 8-word run of a text, and the whole text when it has four words or more."""
    for i in range(len(text_words) - RUN + 1):
        yield tuple(text_words[i : i + RUN])
    if len(text_words) >= 4:
        yield ("<whole>", *text_words)


def blind_keys(directory: Path = BLIND) -> dict[tuple[str, ...], str]:
    """Every 8-word run and every whole item of the blind sets -> a blind item's id."""
    found: dict[tuple[str, ...], str] = {}
    for path in sorted(directory.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            for key in keys(words(item["text"])):
                found.setdefault(key, str(item["id"]))
    return found


def project_files(root: Path = ROOT) -> list[Path]:
    """What the project wrote: the domain, training data, rules, packs, tests, docs, code."""
    found = [root / "domain.yml", *root.glob("data/*.yml"), *root.glob("knowledge/*.yml")]
    found += root.glob("packs/*.yml")
    for folder, suffixes in (
        ("tests", (".yml", ".py")),
        ("docs", (".md",)),
        ("bot", (".py",)),
        ("actions", (".py",)),
    ):
        for path in (root / folder).glob("**/*"):
            if path.is_file() and path.suffix in suffixes and BLIND not in path.parents:
                found.append(path)
    return sorted(found)


def _lines(files: Iterable[Path]) -> Iterator[tuple[Path, list[tuple[str, ...]]]]:
    """Each line of `files` as its keys, read the same way for both directions: a YAML list
    dash and surrounding quotes are not words ("- 'she said...'" is the sentence)."""
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            yield path, list(keys(words(line.strip().lstrip("-").strip().strip("\"'"))))


def copies(
    files: Iterable[Path], blind: dict[tuple[str, ...], str], root: Path = ROOT
) -> set[tuple[str, str]]:
    """(file under `root`, blind id) for each line of `files` holding a blind item's words."""
    found = set()
    for path, line_keys in _lines(files):
        hit = next((key for key in line_keys if key in blind), None)
        if hit is not None:
            found.add((path.relative_to(root).as_posix(), blind[hit]))
    return found


def written_here(files: Iterable[Path]) -> set[tuple[str, ...]]:
    """Every 8-word run and every whole line the project wrote."""
    return {key for _path, line_keys in _lines(files) for key in line_keys}


def coinciding(batch: dict, written: set[tuple[str, ...]]) -> list[str]:
    """Ids of a new batch's items that share an 8-word run (or all their words) with
    project text."""
    return [
        str(item["id"])
        for item in batch["items"]
        if any(key in written for key in keys(words(item["text"])))
    ]


def without(text: str, dropped: set[str], why: str) -> str:
    """The batch's YAML text with the `dropped` items removed and a header line saying so
    (its comments and layout kept, so the file reads as the writer left it)."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    skipping, indent = False, -1
    for line in lines:
        match = _ID.match(line)
        if match:
            indent = len(match.group(1))
            skipping = match.group(2) in dropped
        elif skipping and line.strip() and len(line) - len(line.lstrip()) < indent:
            skipping = False  # the list has ended
        if not skipping:
            kept.append(line)
    if dropped:
        header = 0
        while header < len(kept) and kept[header].startswith("#"):
            header += 1
        kept.insert(
            header, f"# Dropped before any run on them: {', '.join(sorted(dropped))} ({why}).\n"
        )
    return "".join(kept)


def admit(new: Path, name: str | None = None, root: Path = ROOT) -> tuple[Path, list[str]]:
    """Write `new` into the blind folder, without the items that coincide with project
    text; returns where it went and the ids dropped."""
    text = new.read_text(encoding="utf-8")
    batch = yaml.safe_load(text)
    if not isinstance(batch, dict) or not isinstance(batch.get("items"), list):
        raise ValueError(f"{new}: not a blind batch (no `items` list)")
    dropped = coinciding(batch, written_here(project_files(root)))
    out = root / "tests" / "data" / "blind" / (name or new.name)
    if out.exists():
        raise ValueError(f"{out.relative_to(root)} exists: a batch is admitted once")
    result = without(
        text,
        set(dropped),
        "an 8-word run or a whole item coincides with project data written earlier",
    )
    kept = yaml.safe_load(result)["items"]
    if len(kept) != len(batch["items"]) - len(dropped):
        raise ValueError(
            f"{new}: dropping {len(dropped)} items left {len(kept)} of {len(batch['items'])}"
        )
    out.write_text(result, encoding="utf-8")
    return out, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser(
        "admit", help="add a new batch to tests/data/blind, minus coinciding items"
    )
    add.add_argument("batch", type=Path, help="the new batch's YAML, written outside the repo")
    add.add_argument(
        "--as", dest="name", help="its file name in tests/data/blind (default: the same)"
    )
    sub.add_parser("check", help="list project lines that copy a blind item")
    args = parser.parse_args(argv)
    try:
        if args.command == "admit":
            out, dropped = admit(args.batch, args.name)
            gone = ", ".join(dropped) or "none"
            print(f"admitted {out.relative_to(ROOT)}; dropped before any run: {gone}")
            return 0
        found = sorted(copies(project_files(), blind_keys()))
        for where, item in found:
            print(f"{where}: copies blind item {item}")
        print(f"{len(found)} copies")
        return 1 if found else 0
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"blind_apart: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
