"""`safeguard telegram`: staff chat with the assistant on Telegram.

    safeguard telegram                         start Rasa, the action server, the pager and
                                               the Telegram gateway (long polling)
    safeguard telegram --rasa-url URL [...]    only the gateway, with Rasa servers already
                                               running (or SAFEGUARD_RASA_URLS)
    safeguard telegram --webhook-url URL       webhook mode instead of long polling

The bot token comes from TELEGRAM_BOT_TOKEN, or TELEGRAM_BOT_TOKEN_FILE (a chmod 600 file).
TELEGRAM_BASE_URL points at another Bot API server (a local one, or a test fake). A token
Telegram refuses is one plain line and exit 2; so is a broken roster or a missing token.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

EXIT_BAD_INPUT = 2
_SECRET_OK = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "telegram",
        help="run the assistant on Telegram (staff only)",
        description=(
            "Run the Telegram gateway: approved staff chat with the assistant in Telegram. "
            "By default this also starts what `safeguard serve` starts (the Rasa server, "
            "the action server and the pager); with --rasa-url it uses Rasa servers that "
            "are already running. The bot token is read from TELEGRAM_BOT_TOKEN or from "
            "the chmod 600 file named by TELEGRAM_BOT_TOKEN_FILE (create the bot with "
            "@BotFather). Long polling needs no public URL; --webhook-url switches to a "
            "webhook whose secret token is checked on every request. Ctrl-C or SIGTERM "
            "stops everything. See README, 'Run it on Telegram'."
        ),
    )
    parser.add_argument(
        "--rasa-url",
        action="append",
        metavar="URL",
        help=(
            "a running Rasa server (repeat, or comma-separate, for several: each "
            "conversation sticks to one); default: start one here, or SAFEGUARD_RASA_URLS"
        ),
    )
    parser.add_argument(
        "--rasa-timeout", type=float, default=30.0, help="seconds to wait for Rasa (30)"
    )
    parser.add_argument("--port", type=int, default=5005, help="Rasa server port to start (5005)")
    parser.add_argument("--actions-port", type=int, default=5055, help="action server port")
    parser.add_argument("--model", type=Path, default=None, help="trained model archive")
    parser.add_argument(
        "--webhook-url",
        metavar="URL",
        help="public https URL Telegram should POST updates to (webhook mode)",
    )
    parser.add_argument(
        "--listen", default="127.0.0.1", help="webhook mode: address to listen on (127.0.0.1)"
    )
    parser.add_argument(
        "--listen-port", type=int, default=8443, help="webhook mode: port to listen on (8443)"
    )
    parser.set_defaults(func=run)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"safeguard telegram: {message}", file=sys.stderr, flush=True)
    return code


def quiet_libraries() -> None:
    """Our own lines only: httpx logs every request URL, and the URL holds the bot token."""
    logging.basicConfig(level=logging.WARNING, format="[telegram] %(message)s", stream=sys.stderr)
    logging.getLogger("safeguard").setLevel(logging.INFO)
    for name in ("httpx", "httpcore", "telegram", "aiohttp.access", "asyncio", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def rasa_urls(args: argparse.Namespace) -> list[str] | None:
    """The running Rasa servers to use, or None to start one here."""
    from bot.clients.rasa_client import (  # heavy: imported on first use, not at start-up
        urls_from_env,
    )
    from bot.config import settings  # heavy: imported on first use, not at start-up

    if args.rasa_url:
        return urls_from_env(",".join(args.rasa_url))
    if settings.current().rasa_urls:  # SAFEGUARD_RASA_URLS
        return urls_from_env()
    return None


async def check_token(token: str, base_url: str | None) -> tuple[str | None, str | None]:
    """(bot username, None) if Telegram accepts the token; (None, problem) if it refuses it;
    (None, None) if Telegram cannot be reached now (the gateway then backs off and retries)."""
    from telegram import Bot  # heavy: imported on first use, not at start-up
    from telegram.error import (  # heavy: imported on first use, not at start-up
        InvalidToken,
        NetworkError,
        TelegramError,
    )

    bot = Bot(token, **({"base_url": base_url} if base_url else {}))
    try:
        me = await bot.get_me()
        return me.username, None
    except InvalidToken:
        return None, (
            "Telegram refused the bot token (getMe: Unauthorized). Check TELEGRAM_BOT_TOKEN "
            "(or the file TELEGRAM_BOT_TOKEN_FILE names) against @BotFather's /token."
        )
    except NetworkError as exc:
        logging.getLogger("safeguard.telegram").warning(
            "telegram: cannot reach Telegram to check the token (%s); starting anyway and retrying",
            type(exc).__name__,
        )
        return None, None
    except TelegramError as exc:
        return None, f"Telegram refused getMe: {type(exc).__name__}"
    finally:
        try:
            await bot.shutdown()
        except Exception:  # noqa: BLE001
            pass


def run(args: argparse.Namespace) -> int:
    from bot.config.secrets import (  # heavy: imported on first use, not at start-up
        SecretError,
        secret,
    )
    from bot.paging import deployment  # heavy: imported on first use, not at start-up
    from bot.records.access import (  # heavy: imported on first use, not at start-up
        AccessError,
        StaffDirectory,
    )

    quiet_libraries()
    try:
        token = secret("TELEGRAM_BOT_TOKEN", required=True)
    except SecretError as exc:
        return fail(str(exc))
    base_url = deployment.current().settings.telegram_base_url or None
    try:
        urls = rasa_urls(args)
    except ValueError as exc:
        return fail(str(exc))
    if args.webhook_url and not re.match(r"^https?://[^\s/]+", args.webhook_url):
        return fail(f"--webhook-url {args.webhook_url!r} is not an http(s) URL")
    webhook_secret = ""
    if args.webhook_url:
        try:
            webhook_secret = secret("TELEGRAM_WEBHOOK_SECRET")
        except SecretError as exc:
            return fail(str(exc))
        if webhook_secret and not _SECRET_OK.match(webhook_secret):
            return fail("TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1-256)")
    try:
        roster = deployment.current().roster(shared=False)
    except ValueError as exc:
        return fail(f"the roster cannot be read, so nobody could be paged: {exc}")
    try:
        directory = StaffDirectory()
    except AccessError as exc:
        return fail(str(exc))

    username, problem = asyncio.run(check_token(token, base_url))
    if problem:
        return fail(problem)

    from bot.commands import processes  # heavy: imported on first use, not at start-up

    group = None
    if urls is None:
        from bot.commands.serve import (  # heavy: imported on first use, not at start-up
            ready_to_start,  # heavy: imported on first use, not at start-up
        )

        model = args.model or processes.DEFAULT_MODEL
        if not ready_to_start("telegram", model):
            return 1
        group = processes.ProcessGroup()
        urls = [f"http://127.0.0.1:{args.port}"]
    processes.raise_stop_on_sigterm()
    try:
        if group is not None:
            start_servers(group, token, model, args.port, args.actions_port)
        return asyncio.run(
            serve_gateway(
                token, base_url, urls, args, directory, roster, username, webhook_secret, group
            )
        )
    except (KeyboardInterrupt, processes.Stop):
        print("[telegram] stopping", flush=True)
        return 0
    finally:
        if group is not None:
            group.stop()


def start_servers(group: Any, token: str, model: Path, port: int, actions_port: int) -> None:
    """What `safeguard serve` starts; only the pager is given the bot token (to send pages)."""
    from bot.commands import processes  # heavy: imported on first use, not at start-up

    plain = processes.child_env()
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN_FILE", "SAFEGUARD_TELEGRAM_TOKEN"):
        plain.pop(name, None)
    pager_env = dict(plain, TELEGRAM_BOT_TOKEN=token)
    actions = group.start("action server", processes.action_server_cmd(actions_port), env=plain)
    group.start("pager", processes.pager_cmd(), env=pager_env)
    rasa = group.start("rasa server", processes.rasa_run_cmd(model, port, actions_port), env=plain)
    print(f"[telegram] starting: action server :{actions_port}, pager, Rasa :{port}", flush=True)

    def announce() -> None:
        if processes.wait_for_http(
            f"http://127.0.0.1:{actions_port}/health", 60, actions
        ) and processes.wait_for_http(f"http://127.0.0.1:{port}/", 240, rasa):
            print("[telegram] Rasa is ready", flush=True)

    # Until Rasa is ready, workers already get the floor reply (999 first, the lead's number).
    threading.Thread(target=announce, name="rasa-ready", daemon=True).start()


async def serve_gateway(
    token: str,
    base_url: str | None,
    urls: list[str],
    args: argparse.Namespace,
    directory: Any,
    roster: Any,
    username: str | None,
    webhook_secret: str,
    group: Any,
) -> int:
    from telegram import Bot  # heavy: imported on first use, not at start-up
    from telegram.error import TelegramError  # heavy: imported on first use, not at start-up
    from telegram.request import HTTPXRequest  # heavy: imported on first use, not at start-up

    from bot.clients.rasa_client import RasaClient  # heavy: imported on first use, not at start-up
    from bot.clients.telegram import (  # heavy: imported on first use, not at start-up
        ALLOWED_UPDATES,
        TelegramGateway,
        new_webhook_secret,
    )
    from bot.failsafe.fallback import is_danger_now  # heavy: imported on first use, not at start-up
    from bot.paging.pager import Pager  # heavy: imported on first use, not at start-up

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    exit_code = 0

    bot = Bot(
        token,
        request=HTTPXRequest(connection_pool_size=16, read_timeout=20, connect_timeout=10),
        get_updates_request=HTTPXRequest(read_timeout=10, connect_timeout=10),
        **({"base_url": base_url} if base_url else {}),
    )
    rasa = RasaClient(urls, timeout=args.rasa_timeout)
    pager = Pager(directory.engine, roster=roster, transports={})
    gateway = TelegramGateway(bot, rasa, directory, pager)
    tasks: list[asyncio.Task] = []
    runner = None

    async def watch_children() -> None:
        nonlocal exit_code
        while not stop.is_set():
            ended = group.first_exit() if group is not None else None
            if ended is not None:
                name, code = ended
                print(
                    f"[telegram] the {name} stopped (exit {code}); stopping the rest",
                    file=sys.stderr,
                    flush=True,
                )
                exit_code = code or 1
                stop.set()
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    try:
        try:
            await bot.initialize()
        except TelegramError:
            pass  # an outage now: the polling loop backs off until Telegram is back
        # Load the danger detector now, so the first message never waits for it.
        await asyncio.to_thread(is_danger_now, "start-up")
        if args.webhook_url:
            from aiohttp import web  # heavy: imported on first use, not at start-up

            secret = webhook_secret or new_webhook_secret()
            path = urlparse(args.webhook_url).path or "/telegram"
            runner = web.AppRunner(gateway.webhook_app(secret, path))
            await runner.setup()
            await web.TCPSite(runner, args.listen, args.listen_port).start()
            await bot.set_webhook(
                url=args.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
            mode = f"webhook {args.webhook_url} (listening on {args.listen}:{args.listen_port})"
            from bot.commands.processes import (  # heavy: imported on first use, not at start-up
                is_loopback,  # heavy: imported on first use, not at start-up
            )

            if not is_loopback(args.listen):
                print(
                    f"[telegram] not loopback: the webhook listens on {args.listen}:"
                    f"{args.listen_port}: it takes only updates carrying the webhook secret "
                    "token Telegram sends (X-Telegram-Bot-Api-Secret-Token)",
                    flush=True,
                )
        else:
            tasks.append(asyncio.create_task(gateway.poll_forever(stop)))
            mode = "long polling"
        tasks.append(asyncio.create_task(gateway.notices_forever(stop)))
        tasks.append(asyncio.create_task(watch_children()))
        who = f"@{username}" if username else "the bot"
        print(
            f"[telegram] ready: {who} by {mode}; Rasa at {', '.join(urls)}; "
            f"{len(directory.staff())} staff with access",
            flush=True,
        )
        await stop.wait()
        print("[telegram] stopping", flush=True)
        return exit_code
    finally:
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=15)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - shutting down
                task.cancel()
        if runner is not None:
            await runner.cleanup()
        await rasa.close()
        try:
            await bot.shutdown()
        except Exception:  # noqa: BLE001
            pass
