"""Run Rasa's command line with two measured speed-ups: `python -m bot.rasa_server run ...`.

`safeguard serve` (and the benchmarks) start the Rasa server through this module
(bot/processes.py, `rasa_run_cmd`). Both changes are pure caching of work Rasa 3.6 repeats
on every message; what Rasa accepts, rejects and does is unchanged.

Found by profiling a scripted disclosure with py-spy (`make bench`; README "Performance"):

1. Half the Rasa server's CPU went on validating each action server reply against Rasa's
   response schema with `jsonschema.validate`, which first checks the *schema itself*
   against the JSON Schema 2020-12 meta-schema, on every call (slow in jsonschema 4.x).
   The schema is a constant, so it is checked once and the compiled validator reused; a
   reply that breaks it raises the same `ValidationError`, with the same message.
2. Every event read back from the tracker store looked its class up by walking all of
   `Event`'s subclasses (`Event.resolve_by_type`, ~8% of the CPU). The name -> class
   answers are remembered; unknown names still go through Rasa's own lookup (and error).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

_installed = False


def _compiled_validator(schema: dict[str, Any]) -> Any:  # noqa: ANN401
    from jsonschema.validators import validator_for

    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> None:
    """Patch Rasa in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.core.actions import action as rasa_action
    from rasa.shared.core import events as rasa_events

    remote = rasa_action.RemoteAction
    validator = _compiled_validator(remote.action_response_format_spec())
    docs = rasa_action.DOCS_BASE_URL

    def _validate_action_result(self, result: dict[str, Any]) -> bool:  # noqa: ANN001
        # As rasa.core.actions.action.RemoteAction._validate_action_result, with the
        # (constant) schema checked once instead of per call.
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{docs}/custom-actions"
        )
        raise error

    remote._validate_action_result = _validate_action_result

    original = rasa_events.Event.resolve_by_type
    found: dict[str, type] = {}

    @functools.wraps(original)
    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    rasa_events.Event.resolve_by_type = staticmethod(resolve_by_type)
    _installed = True


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
