"""The action server, obeying Rasa only: `python -m bot.rasa.action_server --port 5055 [--host H]`.

rasa_sdk's server runs any action for anyone who can POST to /webhook: a made-up tracker was
enough to page the on-call lead, write concerns or list them. Here every request except the
health check must carry the deployment's action secret in the HEADER below (Rasa adds it to
every call: bot/rasa/server.py; `safeguard serve` hands the same chmod-600 file to both, and
several Rasa servers given the same file all get in). It is checked before any action runs;
a call without it gets 401 and one log line saying so, with the caller's address and never
anything of the tracker (which may hold a child's words).

It listens on 127.0.0.1 unless told otherwise (`--host`, SAFEGUARD_ACTIONS_HOST): rasa_sdk's
own default is every interface.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Any

from bot.config import settings
from bot.config.secrets import ACTION_SECRET, SecretError, shared_secret

HEADER = "X-Safeguard-Action-Secret"
HOST_ENV = "SAFEGUARD_ACTIONS_HOST"
OPEN_PATHS = frozenset({"/health"})  # a liveness check reveals nothing and runs nothing

logger = logging.getLogger("rasa_sdk.safeguard")


def require_secret(app: Any, secret: str) -> None:  # noqa: ANN401 - a Sanic app
    """Refuse (401) every request to `app` but the health check without `secret`."""
    from sanic import response  # heavy: imported on first use, not at start-up

    expected = secret.encode("utf-8")

    @app.middleware("request")
    async def _only_rasa(request: Any) -> Any:  # noqa: ANN401
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get(HEADER) or "").encode("utf-8")
        if given and hmac.compare_digest(given, expected):
            return None
        logger.warning(
            "action server: refused a %s %s from %s (%s shared secret)",
            request.method,
            request.path,
            request.ip,
            "wrong" if given else "no",
        )
        return response.json({"error": "unauthorised"}, status=401)


def main(argv: list[str] | None = None) -> None:

    problem = settings.check()
    if problem:
        print(f"action server: {problem}", file=sys.stderr)
        raise SystemExit(2)
    parser = argparse.ArgumentParser(prog="python -m bot.rasa.action_server")
    # SAFEGUARD_ACTIONS_HOST, else 127.0.0.1
    parser.add_argument("--host", default=settings.current().actions_host)
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    # Anything else (-vv, --cors ...) is rasa_sdk's own option: passed on to it.
    args, sdk_args = parser.parse_known_args(argv)


    try:
        secret = shared_secret(ACTION_SECRET)
    except SecretError as exc:
        print(f"action server: {exc}", file=sys.stderr)
        raise SystemExit(1) from None

    import rasa_sdk.__main__ as sdk_main  # heavy: imported on first use, not at start-up
    from rasa_sdk import endpoint  # heavy: imported on first use, not at start-up

    original = endpoint.create_app

    def create_app(*a: Any, **kw: Any) -> Any:  # noqa: ANN401
        app = original(*a, **kw)
        require_secret(app, secret)
        return app

    # rasa_sdk's `run` builds its app with the module's create_app and binds SANIC_HOST.
    endpoint.create_app = create_app
    os.environ["SANIC_HOST"] = args.host
    sys.argv = ["rasa_sdk", "--actions", args.actions, "--port", str(args.port), *sdk_args]
    sdk_main.main()


if __name__ == "__main__":
    main()
