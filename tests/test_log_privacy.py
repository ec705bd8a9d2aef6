"""Library log records are scrubbed of conversation text (bot/config/log_privacy.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from bot.config import log_privacy
from tests.conftest import ROOT

WORDS = "Auntie Marguerite burns my arm with the iron"


@pytest.fixture
def captured():  # noqa: ANN201
    """Records as a handler attached now would see them (the factory runs first)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("rasa.core.processor", "rasa_sdk.executor", "bot.x")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield records
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def rendered(records: list[logging.LogRecord]) -> str:
    return "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in records)


def test_importing_bot_installs_the_scrubber() -> None:
    assert log_privacy._installed
    record = logging.getLogRecordFactory()(
        "rasa.core.processor",
        logging.DEBUG,
        __file__,
        1,
        "Received user message '%s'",
        (WORDS,),
        None,
    )
    assert WORDS not in record.getMessage()


def test_library_debug_line_is_withheld(captured) -> None:  # noqa: ANN001
    logging.getLogger("rasa.core.processor").debug(f"Received user message '{WORDS}' with intent")
    logging.getLogger("rasa_sdk.executor").debug(
        "Contents of ignored event: '%s'", {"value": WORDS}
    )
    text = rendered(captured)
    assert WORDS not in text and "Marguerite" not in text
    assert "rasa.core.processor: log line withheld" in text
    assert "rasa_sdk.executor: log line withheld" in text


def test_structured_debug_keeps_the_event_name_only(captured) -> None:  # noqa: ANN001
    line = json.dumps(
        {
            "event": "processor.actions.log",
            "action_name": "action_submit_disclosure",
            "rasa_events": [{"event": "slot", "name": "child_words", "value": WORDS}],
            "some_new_key": WORDS,
            "level": "debug",
        }
    )
    logging.getLogger("rasa.core.processor").debug(line)
    (record,) = captured
    data = json.loads(record.getMessage())
    assert data["event"] == "processor.actions.log"
    assert data["action_name"] == "action_submit_disclosure"
    assert data["rasa_events"] == data["some_new_key"] == log_privacy.REDACTED
    assert WORDS not in record.getMessage()


def test_structured_error_loses_the_text_and_the_exception_message(captured) -> None:  # noqa: ANN001
    line = json.dumps(
        {
            "event": "rest.message.received.failure",
            "text": WORDS,
            "level": "error",
            "exception": [{"exc_type": "ValueError", "exc_value": WORDS, "frames": []}],
        }
    )
    logging.getLogger("rasa.core.processor").error(line)
    data = json.loads(captured[0].getMessage())
    assert data["event"] == "rest.message.received.failure"
    assert data["text"] == log_privacy.REDACTED
    assert data["exception"][0]["exc_type"] == "ValueError"
    assert WORDS not in captured[0].getMessage()


def test_plain_warnings_and_our_own_records_pass_untouched(captured) -> None:  # noqa: ANN001
    logging.getLogger("rasa.core.processor").warning("Circuit breaker tripped after 10 actions")
    logging.getLogger("bot.x").debug("spooled concern %s", "20261124-abc")
    assert [r.getMessage() for r in captured] == [
        "Circuit breaker tripped after 10 actions",
        "spooled concern 20261124-abc",
    ]


def test_debug_tracebacks_are_dropped(captured) -> None:  # noqa: ANN001
    try:
        raise ValueError(WORDS)
    except ValueError:
        logging.getLogger("rasa.core.processor").debug("failed", exc_info=True)
    assert captured[0].exc_info is None


def test_unsafe_switch_turns_it_off(captured, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(log_privacy.UNSAFE_ENV, "1")
    logging.getLogger("rasa.core.processor").debug(f"Received user message '{WORDS}'")
    assert WORDS in rendered(captured)


RASA_STRUCTLOG = """
    import logging, sys
    {prelude}
    from rasa.utils.log_utils import configure_structlog
    import structlog
    configure_structlog(logging.DEBUG)
    log = structlog.get_logger()
    log.debug("processor.message.parse", parse_data_text={words!r}, parse_data_intent="inform")
    log.debug("processor.actions.log", action_name="action_x", rasa_events=[{{"value": {words!r}}}])
    logging.getLogger("rasa.core.processor").debug("Received user message '%s'", {words!r})
    log.error("rest.message.received.timeout", text={words!r})
"""


@pytest.mark.parametrize("with_bot", [True, False])
def test_rasas_own_logging_at_debug(with_bot: bool) -> None:
    """Rasa's real structlog set-up at DEBUG: the words appear without safeguard (so the
    check can fail) and never with it."""
    prelude = "import bot" if with_bot else ""
    script = textwrap.dedent(RASA_STRUCTLOG.format(prelude=prelude, words=WORDS))
    # (run from -c, structlog names the logger __main__: structured records are scrubbed
    # whatever logger they come from)
    env = {k: v for k, v in os.environ.items() if k != log_privacy.UNSAFE_ENV}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "processor.actions.log" in out  # debug output really was written
    if with_bot:
        assert WORDS not in out, out
    else:
        assert WORDS in out


def test_training_progress_is_kept_but_its_neighbours_are_not() -> None:
    factory = logging.getLogRecordFactory()
    progress = factory(
        "rasa.engine.training.hooks",
        logging.INFO,
        __file__,
        1,
        "Starting to train %s",
        ("x",),
        None,
    )
    assert progress.getMessage() == "Starting to train x"
    # A logger whose name only starts with the same letters is still a library logger.
    other = factory(
        "rasa.engine.trainingdata", logging.INFO, __file__, 1, "message %s", (WORDS,), None
    )
    assert WORDS not in other.getMessage()
