"""Where safeguard is: the checkout (or installed tree) its data files are read from.

Its own module, importing nothing, so the settings and the package's start-up can both use
it without importing each other."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
