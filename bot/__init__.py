"""safeguard: a safeguarding assistant for staff and volunteers.

Everything here is independent of Rasa so it can be tested and used from the CLI
without a model loaded. `actions/` and the channel gateways translate to and from it.
"""

# Library log records (Rasa, rasa-sdk) are scrubbed of conversation text in every process
# that imports safeguard: see bot/config/log_privacy.py.
from bot.config import log_privacy as _log_privacy  # noqa: E402
from bot.config.paths import ROOT  # noqa: F401 - `from bot import ROOT` everywhere

_log_privacy.install()
