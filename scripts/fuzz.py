#!/usr/bin/env python
"""The long fuzz run: the property tests of tests/test_fuzz.py with many more examples and a
random seed, showing progress as each property finishes.

    .venv/bin/python scripts/fuzz.py                  # 300 examples per property, random seed
    .venv/bin/python scripts/fuzz.py --examples 2000 --seed 1234 -k action

`make test` runs the same properties with a few derandomized examples each; this is the run
that looks hard. A failure prints hypothesis's smallest failing example and the seed that
reproduces the run (pass it back with --seed). Exit status: 0 when every property held.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = re.compile(r"^(tests/\S+::\S+)\s+(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=300, help="examples per property (300)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: new one)")
    parser.add_argument("-k", dest="keyword", default=None, help="only properties matching")
    args = parser.parse_args(argv)
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)

    env = dict(os.environ)
    env["SAFEGUARD_FUZZ_EXAMPLES"] = str(args.examples)
    env["SAFEGUARD_FUZZ_SEED"] = str(seed)
    env.setdefault("PYTHONWARNINGS", "ignore")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_fuzz.py",
        "-v",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore",
        "--hypothesis-show-statistics",
        "--tb=short",
    ]
    if args.keyword:
        cmd += ["-k", args.keyword]
    print(f"fuzz: {args.examples} examples per property, seed {seed}", flush=True)
    started = time.monotonic()
    counts: dict[str, int] = {}
    tail: list[str] = []
    with subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)
            match = RESULT.match(line)
            if match:
                name, outcome = match.groups()
                counts[outcome] = counts.get(outcome, 0) + 1
                minutes = (time.monotonic() - started) / 60
                print(f"[{minutes:6.1f} min] {outcome:7} {name.split('::', 1)[1]}", flush=True)
        code = proc.wait()
    elapsed = (time.monotonic() - started) / 60
    summary = ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items())) or "nothing ran"
    print(f"fuzz: {summary} in {elapsed:.1f} min (seed {seed}, {args.examples} examples)")
    if code != 0:
        print("".join(_failures(tail)), end="")
        print(f"fuzz: FAILED; rerun with: scripts/fuzz.py --seed {seed} --examples {args.examples}")
    return 0 if code == 0 else 1


def _failures(lines: list[str]) -> list[str]:
    """The failure section of pytest's output (smallest examples included)."""
    for at, line in enumerate(lines):
        if line.startswith("=") and "FAILURES" in line:
            return lines[at:]
    return lines[-60:]


if __name__ == "__main__":
    sys.exit(main())
