"""Logs never hold a child's words.

What the libraries log, measured on Rasa 3.6.21 and rasa-sdk 3.6.2:

- At the levels `safeguard serve` runs them (Rasa ``--quiet``: WARNING; the action server:
  INFO) neither logs conversation text: rasa-sdk's INFO lines name actions only, Rasa's
  warnings name slots and actions (tests/test_log_privacy_server.py checks a whole
  disclosure through a real server).
- But several library lines do carry what someone typed: Rasa's DEBUG output
  ("Received user message '...'", the events each action returned, slot values, parse
  data), Rasa's REST and Telegram channels at ERROR ("rest.message.received.failure"
  with ``text=...``; "Exception when trying to handle message.{e}"), and rasa-sdk's DEBUG
  "Contents of ignored event". Anyone raising the log level to chase a problem would
  write disclosures into the log files.

So every log record from the libraries that handle conversations (`LIBRARY_LOGGERS`), and
every structlog record (only Rasa uses structlog here), is scrubbed as it is created,
whatever handlers, files or levels are configured later:

- below WARNING: a structured (structlog JSON) record keeps its event name and the values
  of harmless keys (`KEPT_KEYS`: action and intent names, counts, ids); any other record
  is replaced by `WITHHELD`, naming only the logger;
- WARNING and above: structured records lose the values of every conversation key
  (`CONVERSATION_KEYS`, Rasa's own list of keys its anonymizer treats as personal data
  plus the tracker and event keys) and their exception's message (tracebacks are kept);
  plain lines are kept: they name actions, slots and errors, and an operator needs them.

`install()` sets this up once per process; importing `bot` calls it, so the Rasa server
(which loads `bot.rasa.intent_floor` with the model), the action server and the pager all get it.
safeguard's own modules never log message text (each logs types and counts, never the
content), and their records pass untouched.

For debugging with made-up test data only: ``SAFEGUARD_UNSAFE_DEBUG_LOGS=1`` turns the
scrubbing off.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.config import settings

UNSAFE_ENV = "SAFEGUARD_UNSAFE_DEBUG_LOGS"

LIBRARY_LOGGERS: tuple[str, ...] = ("rasa", "rasa_sdk", "sanic", "aiogram", "telegram")
"""Logger name prefixes of the libraries that see conversation text."""

TRAINING_LOGGERS: tuple[str, ...] = ("rasa.engine.training",)
"""Loggers that only report training progress (component names, times), never a
conversation: kept, so `rasa train` shows what it is doing."""

WITHHELD = "[{name}: log line withheld; it may hold conversation text]"
REDACTED = "[redacted]"

CONVERSATION_KEYS = frozenset(
    {
        # rasa/utils/log_utils.py `_anonymizer`'s list
        "text",
        "response_text",
        "user_text",
        "slot_values",
        "parse_data_text",
        "parse_data_entities",
        "prediction_events",
        "tracker_latest_message",
        "prefilled_slots",
        "message",
        "response",
        "slot_candidates",
        "rasa_event",
        "rasa_events",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "current_entity",
        "next_entity",
        "states",
        "entity",
        "token_text",
        "user_message",
        "json_message",
        # and whatever else can carry a conversation
        "tracker",
        "events",
        "event_info",
        "slots",
        "slot_value",
        "value",
        "values",
        "entities",
        "parse_data",
        "metadata",
        "latest_message",
        "utterance",
        "bot_message",
        "messages",
        "exc_info_text",
    }
)

KEPT_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "action_name",
        "intent_name",
        "policy_name",
        "slot_name",
        "sender_id",
        "message_id",
        "confidence",
        "num_events",
        "num_messages",
        "duration",
        "status",
        "model_id",
        "form_name",
        "requested_slot",
    }
)

_installed = False


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _is_library(name: str) -> bool:
    return _under(name, LIBRARY_LOGGERS) and not _under(name, TRAINING_LOGGERS)


def _structured(message: str) -> dict[str, Any] | None:
    text = message.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "event" in data else None


def scrub_structured(data: dict[str, Any], keep_only_known: bool) -> dict[str, Any]:
    """A structlog event with conversation values replaced by `REDACTED`."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "event" and keep_only_known and isinstance(value, str) and " " in value.strip():
            out[key] = REDACTED  # a sentence, not an event name: it may quote the input
        elif key == "exception" and isinstance(value, list):
            # structlog's dict traceback: keep the frames, drop the exception's message
            out[key] = [
                {**frame, "exc_value": REDACTED} if isinstance(frame, dict) else REDACTED
                for frame in value
            ]
        elif key in KEPT_KEYS and not isinstance(value, (dict, list)):
            out[key] = value
        elif keep_only_known or key in CONVERSATION_KEYS:
            out[key] = REDACTED
        else:
            out[key] = value
    return out


def _unsafe() -> bool:
    """SAFEGUARD_UNSAFE_DEBUG_LOGS. Settings that cannot be read keep the logs scrubbed (and
    stop start-up elsewhere)."""

    try:
        return settings.current().unsafe_debug_logs
    except ValueError:
        return False


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Make `record` safe to write anywhere (in place; see the module doc)."""
    if _unsafe():
        return record
    library = _is_library(record.name)
    if not library and not (isinstance(record.msg, str) and record.msg.lstrip().startswith("{")):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is withheld, not raised
        message = ""
    data = _structured(message) if isinstance(message, str) else None
    if not library and (data is None or "level" not in data):
        return record  # not a structlog record: one of safeguard's own, untouched
    below_warning = record.levelno < logging.WARNING
    if data is not None:
        record.msg = json.dumps(scrub_structured(data, keep_only_known=below_warning))
    elif below_warning:
        record.msg = WITHHELD.format(name=record.name)
    else:
        return record
    record.args = ()
    if below_warning:
        # A traceback's exception message can quote the input.
        record.exc_info, record.exc_text, record.stack_info = None, None, None
    return record


def install() -> None:
    """Scrub every library log record of this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
