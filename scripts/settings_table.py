"""Write the README's settings table from bot/config/settings.py (`Settings`).

The table sits between the lines `<!-- settings:begin -->` and `<!-- settings:end -->`
(added under a `## Settings` heading at the end of README.md when missing). `--check`
changes nothing and exits 1 when the README's table is not the generated one
(tests/test_settings.py checks the same).

    .venv/bin/python scripts/settings_table.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import settings  # noqa: E402

README = ROOT / "README.md"
SECTION = f"\n## Settings\n\n{settings.TABLE_BEGIN}\n{settings.TABLE_END}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    if settings.TABLE_BEGIN not in text and not args.check:
        text = text.rstrip("\n") + "\n" + SECTION
    try:
        wanted = settings.with_table(text)
    except ValueError as exc:
        print(f"settings_table: {exc}", file=sys.stderr)
        return 1
    if wanted == text:
        return 0
    if args.check:
        print("settings_table: README.md's settings table is stale: run "
              "scripts/settings_table.py", file=sys.stderr)
        return 1
    README.write_text(wanted, encoding="utf-8")
    print(f"settings_table: wrote {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
