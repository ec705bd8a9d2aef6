"""Time from `enqueue` (concern committed) to the page reaching a fake Telegram server.

    .venv/bin/python bench/bench_page_latency.py [--runs 50] [--interval 0.2]

Two measurements, p50/p95/max in milliseconds:

* loop:   a `Pager.run_forever` thread polling every --interval seconds, as in production
          (`safeguard pager run`); latency includes waiting for the next pass.
* direct: `deliver_due()` called straight after the commit: the cost of one pass itself
          (database claim + python-telegram-bot + HTTP on loopback).

Everything runs on loopback with a throwaway SQLite database; nothing leaves the machine.
This is a measurement, not a test: it prints numbers and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.clock import now  # noqa: E402
from bot.core.rota import Roster  # noqa: E402
from bot.paging.pager import Pager, enqueue  # noqa: E402
from bot.paging.transports import TelegramTransport  # noqa: E402
from bot.records.db import Base, make_engine, session_factory, transaction  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "100200:BENCH-token"
CHAT = 910000999

ROSTER = {
    "organisation": "generic",
    "source": "benchmark roster (fictional)",
    "people": [{"id": "lead", "name": "Bench Lead", "role": "lead", "telegram_chat_id": CHAT}],
    "shifts": [{"person": "lead", "when": "daily 00:00-24:00"}],
    "fallback": {"purpose": "out_of_hours_social_care"},
    "escalation": {
        u: {"steps": [{"target": "on_call_lead", "timeout_minutes": 60}]}
        for u in ("immediate", "urgent", "routine")
    },
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<7} n={len(ms):<4} p50={percentile(ms, 0.5):8.1f} ms  "
        f"p95={percentile(ms, 0.95):8.1f} ms  max={max(ms):8.1f} ms  "
        f"mean={statistics.fmean(ms):8.1f} ms"
    )


def run(runs: int, interval: float) -> None:
    roster = Roster.parse_obj(ROSTER)
    with tempfile.TemporaryDirectory() as folder, FakeTelegram(TOKEN) as fake:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        Base.metadata.create_all(engine)
        factory = session_factory(engine)
        telegram = TelegramTransport(TOKEN, base_url=fake.base_url)
        pager = Pager(engine, roster, [telegram], fallback_resolver=lambda *_: None)

        def page(n: int) -> None:
            with transaction(factory) as session:
                enqueue(
                    session,
                    f"SG-BENCH-{n:04d}",
                    "immediate",
                    "neglect",
                    "Bench Worker",
                    "07700 900999",
                    now(),
                    roster=roster,
                )

        # Warm up: python-telegram-bot's first call also fetches getMe.
        page(0)
        pager.deliver_due()
        sent = len(fake.sent_messages())

        direct: list[float] = []
        for n in range(1, runs + 1):
            start = time.perf_counter()
            page(n)
            pager.deliver_due()
            if not fake.wait_for_messages(sent + 1, timeout=30):
                raise SystemExit("bench: a page never reached the fake Telegram server")
            direct.append(time.perf_counter() - start)
            sent += 1

        stop = threading.Event()
        loop = threading.Thread(target=pager.run_forever, args=(stop, interval), daemon=True)
        loop.start()
        looped: list[float] = []
        for n in range(runs + 1, 2 * runs + 1):
            start = time.perf_counter()
            page(n)
            if not fake.wait_for_messages(sent + 1, timeout=30):
                raise SystemExit("bench: a page never reached the fake Telegram server")
            looped.append(time.perf_counter() - start)
            sent += 1
            time.sleep(interval * (n % 7) / 7)  # spread arrivals across the polling cycle
        stop.set()
        loop.join(timeout=30)
        telegram.close()
        engine.dispose()

    print(f"enqueue -> fake Telegram sendMessage, {runs} runs each, loop interval {interval} s")
    report("direct", direct)
    report("loop", looped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="pages per measurement")
    parser.add_argument("--interval", type=float, default=0.2, help="pager loop interval (s)")
    args = parser.parse_args()
    if args.runs < 2 or not 0.01 <= args.interval <= 10:
        print("bench: --runs must be at least 2 and --interval 0.01-10 s", file=sys.stderr)
        return 2
    run(args.runs, args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
