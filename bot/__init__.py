"""safeguard: the domain core.

Everything here is independent of Rasa so it can be tested and used from the CLI
without a model loaded. `actions/` and the channel gateways translate to and from it.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
