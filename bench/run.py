"""`make bench`: every performance figure of issue 8, measured in one run on this machine.

    .venv/bin/python bench/run.py [--quick] [--model models/safeguard.tar.gz] [--out DIR]

Phases (progress is printed as each starts):

1. `rasa train` of safeguard from a clean cache into a temp dir (wall time), and the stock
   assistant: `rasa init --no-prompt` in a temp dir, which trains it (wall time too).
2. Per-turn latency through the REST channel, action server included, for a scripted
   disclosure (start -> each form answer -> confirm and save): sequential conversations;
   20 conversations at once, each worker taking 1-3 s to type the next message (THINK);
   and, as a stress figure, 20 at once back to back (no pause at all). The same for the
   stock assistant's scripted chat, both assistants up together and measured in
   alternation (conversation by conversation, round by round), so a drift in the shared
   machine's speed falls on both alike.
3. Danger message -> the page arriving at a fake Telegram server, through REST -> Rasa ->
   action server -> concern log -> the pager process (`safeguard pager run`) -> Telegram.
4. Peak resident memory (the kernel's VmHWM) of each Rasa server and action server.
5. NLU macro-F1 (3-fold cross-validation, and the shipped model on the hold-out set),
   triage recall and false-alarm rate, language checker precision/recall and notes/second.
6. The blind sets (bench/blind.py, also `make blind` on its own): triage, language checker
   and questions on the first and the latest batch of tests/data/blind/, under `blind`.

Writes bench/results/latest.json, latest.md (the table, also printed) and latest.png.
A measurement, not a test: it fails only when something could not be measured.
`--quick` (fewer conversations, no cross-validation, the trained model in models/) is for
trying the harness; its figures are not the ones to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import blind  # noqa: E402
import harness  # noqa: E402
from harness import progress  # noqa: E402

from bot.config import settings  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RASA = harness.RASA
SEED = 2026
CONCURRENCY = 20
# Between a reply and a worker's next message: reading the question and typing the answer.
# 1-3 s is quicker than any person (typing a child's words verbatim takes far longer), so
# 20 conversations at this pace are a heavier load than 20 workers really give.
THINK = (1.0, 3.0)
LEAD_CHAT = 910000999

# The disclosure as a worker types it (the form's questions in tests/test_disclosure_stories.yml).
DISCLOSURE = [
    "a girl in my group just told me something and i need to log it",
    "no not right now",
    "The session has ended",
    "Jade, ref 4471",
    "14",
    "he comes in my room at night when mum is at work",
    "she was shaking and would not look at me",
    "at home; she told me at 4pm today in the art room",
    "mum's partner",
    "listened; told her I would have to tell the lead",
    "she seemed scared of him",
    "yes thats right",
    "yep save it",
]

# The stock `rasa init` assistant's own stories (happy and sad paths, the bot challenge),
# twice over: about as many turns as the disclosure.
STOCK = [
    "hello there",
    "I am feeling very sad",
    "yes it did",
    "are you a bot?",
    "I am great thanks",
    "goodbye",
] * 2

DANGER = [
    "hes outside the centre with a knife now",
    "her stepdad is in reception and she is terrified of him",
    "he said hes going to kill himself tonight and he has pills",
    "there is a man outside waiting for her with a knife",
]

ROSTER = f"""organisation: generic
source: benchmark roster (fictional)
people:
  - {{id: lead, name: Bench Lead, role: lead, telegram_chat_id: {LEAD_CHAT}}}
shifts:
  - {{person: lead, when: "daily 00:00-24:00"}}
fallback: {{purpose: out_of_hours_social_care}}
escalation:
  immediate: {{steps: [{{target: on_call_lead, timeout_minutes: 60}}]}}
  urgent: {{steps: [{{target: on_call_lead, timeout_minutes: 60}}]}}
  routine: {{steps: [{{target: on_call_lead, timeout_minutes: 60}}]}}
"""

TOKEN = "100200:BENCH-token"
REFERENCE = re.compile(r"\bSG-[A-Z0-9]{4}-[A-Z0-9]{4}\b")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rasa_env(cache: Path) -> dict[str, str]:
    env = harness.bench_env(settings.current().var_path)
    env["RASA_CACHE_DIRECTORY"] = str(cache)
    return env


def timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    with open(log, "wb") as out:
        code = subprocess.run(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise SystemExit(f"bench: {' '.join(cmd[:3])} failed (exit {code}):\n" + "\n".join(tail))
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------- phases


def train_safeguard(work: Path) -> tuple[Path, float]:
    progress("rasa train (safeguard) from a clean cache into a temp dir: a few minutes")
    cache = work / "cache-safeguard"
    out = work / "models"
    seconds = timed(
        [str(RASA), "train", "--fixed-model-name", "safeguard", "--out", str(out), "--quiet"],
        ROOT,
        rasa_env(cache),
        work / "train-safeguard.log",
    )
    shutil.rmtree(cache, ignore_errors=True)
    progress(f"trained safeguard in {seconds:.0f} s")
    return out / "safeguard.tar.gz", seconds


def init_stock(work: Path) -> tuple[Path, float]:
    progress("rasa init --no-prompt (the stock assistant, trained in this run)")
    project = work / "stock"
    project.mkdir()
    cache = work / "cache-stock"
    seconds = timed(
        [str(RASA), "init", "--no-prompt", "--init-dir", str(project)],
        project,
        rasa_env(cache),
        work / "init-stock.log",
    )
    shutil.rmtree(cache, ignore_errors=True)
    if not list((project / "models").glob("*.tar.gz")):
        raise SystemExit(f"bench: rasa init trained no model (see {work / 'init-stock.log'})")
    progress(f"stock assistant created and trained in {seconds:.0f} s")
    return project, seconds


def acknowledge_pages(db_url: str) -> int:
    """What the on-call lead does within minutes: acknowledge every page still escalating.
    Between phases, so pages from earlier phases do not pile up unacknowledged (each pager
    pass revisits every active page: ~16% of a core at 100 of them, measured)."""
    from sqlalchemy import select

    from bot.core.rota import load_roster
    from bot.paging.models import ACTIVE, Page
    from bot.paging.pager import Pager
    from bot.records.db import make_engine, session_factory

    engine = make_engine(db_url)
    try:
        pager = Pager(engine, load_roster(settings.current().roster_path), [])
        with session_factory(engine)() as session:
            ids = list(session.scalars(select(Page.id).where(Page.status == ACTIVE)))
        for page_id in ids:
            pager.acknowledge(page_id, by="Bench Lead")
        return len(ids)
    finally:
        engine.dispose()


def check_saved(sender: str, replies: list[dict]) -> None:
    text = " ".join(r.get("text") or "" for r in replies)
    if "Saved" not in text or not REFERENCE.search(text):
        raise SystemExit(f"bench: the disclosure of {sender} was not saved; last reply: {text!r}")


def check_stock(sender: str, replies: list[dict]) -> None:
    if not replies:
        raise SystemExit(f"bench: the stock assistant did not answer {sender}")


@dataclass
class Assistant:
    """One assistant under test: its running stack, its scripted chat and its end check."""

    stack: harness.Stack
    turns: list[str]
    check: Callable
    between: Callable = lambda: None  # noqa: E731 - run before each concurrent phase


def conversation_figures(assistants: list[Assistant], sequential: int, rounds: int) -> dict:
    """Per-turn latency of each assistant, measured in alternation: conversation by
    conversation one at a time, then round by round with 20 at once, then the stress run.
    Both are up throughout, so a drift in the machine's speed (a shared 2-core machine
    varied by a quarter between runs minutes apart) falls on both alike, and the ratio is
    of figures measured side by side."""
    conc, burst = f"concurrent_{CONCURRENCY}", f"back_to_back_{CONCURRENCY}"
    names = [a.stack.name for a in assistants]
    seq: dict[str, list[float]] = {n: [] for n in names}
    paced: dict[str, list[float]] = {n: [] for n in names}
    stress: dict[str, list[float]] = {n: [] for n in names}
    held: dict[str, list[str]] = {n: [] for n in names}
    load_before: dict[str, list[float]] = {}
    for a in assistants:
        progress(f"{a.stack.name}: warm-up conversation (not counted)")
        harness.latencies(a.stack.url, f"{a.stack.name}-warm", a.turns, 1, 1, a.check)
    progress(f"{' and '.join(names)}, alternately: {sequential} conversations one after another")
    for n in range(sequential):
        for a in assistants:
            name = a.stack.name
            seq[name] += harness.latencies(a.stack.url, f"{name}-seq{n}", a.turns, 1, 1, a.check)
    for r in range(rounds):
        for a in assistants:
            name = a.stack.name
            progress(
                f"{name}: round {r + 1} of {rounds}, {CONCURRENCY} conversations at once, "
                f"{THINK[0]:g}-{THINK[1]:g} s between a reply and the next message"
            )
            a.between()
            load_before.setdefault(name, loadavg())
            paced[name] += harness.latencies(
                a.stack.url, f"{name}-conc{r}", a.turns, CONCURRENCY, CONCURRENCY, a.check, THINK
            )
    for a in assistants:
        name = a.stack.name
        progress(f"{name}: {CONCURRENCY} conversations at once, back to back (stress)")
        # No end check here: under this load the fail-safe may answer a turn instead ("send
        # it again"), and the script does not resend; those turns are counted instead.
        a.between()
        stress[name] = harness.latencies(
            a.stack.url, f"{name}-burst", a.turns, CONCURRENCY, CONCURRENCY, held=held[name]
        )
    out: dict = {}
    for a in assistants:
        name = a.stack.name
        out[name] = {
            "turns_per_conversation": len(a.turns),
            "sequential": harness.summary_ms(seq[name]),
            conc: harness.summary_ms(paced[name]),
            burst: {**harness.summary_ms(stress[name]), "fail_safe_replies": len(held[name])},
            "think_seconds": list(THINK),
            "loadavg_before_concurrent": load_before[name],
        }
        progress(
            f"{name}: p95 sequential {out[name]['sequential']['p95_ms']} ms, "
            f"{CONCURRENCY} at once {out[name][conc]['p95_ms']} ms, "
            f"back to back {out[name][burst]['p95_ms']} ms"
        )
    return out


class TimedTelegram:
    """tests/fake_telegram.FakeTelegram, noting when each sendMessage arrived."""

    def __init__(self) -> None:
        from tests.fake_telegram import FakeTelegram

        self.fake = FakeTelegram(TOKEN)
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Condition()
        respond = self.fake._respond

        def timed_respond(record):  # noqa: ANN001, ANN202
            arrived = time.perf_counter()
            status, body = respond(record)
            if record.path.endswith("/sendMessage"):
                params = self.fake.calls[-1][1] if self.fake.calls else {}
                with self._lock:
                    self.arrivals.append((arrived, str(params.get("text", ""))))
                    self._lock.notify_all()
            return status, body

        self.fake.http.responder = timed_respond

    def arrival_of(self, reference: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for arrived, text in self.arrivals:
                    if reference in text:
                        return arrived
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(left)

    def __enter__(self) -> TimedTelegram:
        self.fake.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.__exit__(*exc)


def danger_to_page(stack: harness.Stack, telegram: TimedTelegram, runs: int) -> dict:
    """Each run: a new conversation opens with a danger message; time until the page that
    names the concern's reference reaches the fake Telegram server."""
    import asyncio

    import aiohttp

    progress(f"danger -> page at the fake Telegram server, {runs} runs")
    rng = random.Random(SEED)
    to_page: list[float] = []
    first_reply: list[float] = []

    async def go() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            for n in range(runs):
                started = time.perf_counter()
                seconds, replies = await harness.say(
                    session, stack.url, f"danger-{n:03d}", DANGER[n % len(DANGER)]
                )
                text = " ".join(r.get("text") or "" for r in replies)
                if not replies or "999" not in (replies[0].get("text") or ""):
                    raise SystemExit(f"bench: no 999 in the first reply to a danger: {text!r}")
                found = REFERENCE.search(text)
                if not found:
                    raise SystemExit(f"bench: no concern reference in the reply: {text!r}")
                arrived = telegram.arrival_of(found.group(0), timeout=30)
                if arrived is None:
                    raise SystemExit(f"bench: the page for {found.group(0)} never arrived")
                first_reply.append(seconds)
                to_page.append(arrived - started)
                # Spread the messages over the pager's polling cycle.
                await asyncio.sleep(rng.uniform(0.2, 1.2))

    asyncio.run(go())
    out = {
        "runs": runs,
        "to_page": harness.summary_ms(to_page),
        "reply_with_999": harness.summary_ms(first_reply),
    }
    progress(f"danger -> page p50 {out['to_page']['p50_ms']} ms, p95 {out['to_page']['p95_ms']} ms")
    return out


def two_server_figures(model: Path, work: Path, var: Path, roster: Path) -> dict:
    """The set-up of README "Run it on more than one server" on this one machine: two
    safeguard stacks sharing PostgreSQL (protected tracker store, concern log) and a Redis
    lock store, each conversation sent to its server by the gateway's RasaClient."""
    from cryptography.fernet import Fernet

    from bot.clients.rasa_client import WEBHOOK_PATH, RasaClient
    from bot.commands import processes
    from tests.pg_server import PostgresServer
    from tests.redis_server import RedisServer

    progress("two servers: starting PostgreSQL and Redis on loopback")
    pg, redis_server = PostgresServer(), None
    saved = {k: os.environ.get(k) for k in (processes.TRACKER_URL_ENV, processes.LOCK_URL_ENV)}
    try:
        pg.start()
        redis_server = RedisServer().start()
        shared = {
            processes.TRACKER_URL_ENV: pg.create_database("bench_conversations"),
            processes.LOCK_URL_ENV: redis_server.url(1),
            "SAFEGUARD_DB_URL": pg.create_database("bench_concerns"),
            "SAFEGUARD_KEY": Fernet.generate_key().decode(),
            "SAFEGUARD_ROSTER": str(roster),
        }
        # bot.commands.processes writes each Rasa endpoints file from this process's environment.
        os.environ.update({k: shared[k] for k in saved})
        settings.reload()
        env = harness.bench_env(var, shared)
        stacks = [harness.safeguard_stack(model, env, work / "logs") for _ in range(2)]
        for n, stack in enumerate(stacks):
            stack.name = f"node-{n + 1}"
        progress("two servers: starting both safeguard stacks")
        for stack in stacks:
            stack.start()
        try:
            client = RasaClient([f"http://127.0.0.1:{s.port}" for s in stacks])

            def url(sender: str) -> str:
                return client.server_for(sender) + WEBHOOK_PATH

            used = {client.server_for(f"two-conc-{n:04d}") for n in range(CONCURRENCY)}
            for stack in stacks:
                harness.latencies(stack.url, f"warm-{stack.name}", DISCLOSURE, 1, 1, check_saved)
            progress(f"two servers: {CONCURRENCY} conversations at once, paced and back to back")
            acknowledge_pages(shared["SAFEGUARD_DB_URL"])
            paced = harness.latencies(
                url, "two-conc", DISCLOSURE, CONCURRENCY, CONCURRENCY, check_saved, THINK
            )
            acknowledge_pages(shared["SAFEGUARD_DB_URL"])
            held: list[str] = []
            stress = harness.latencies(
                url, "two-burst", DISCLOSURE, CONCURRENCY, CONCURRENCY, held=held
            )
            out = {
                f"concurrent_{CONCURRENCY}": harness.summary_ms(paced),
                f"back_to_back_{CONCURRENCY}": {
                    **harness.summary_ms(stress),
                    "fail_safe_replies": len(held),
                },
                "servers_used": len(used),
                "memory_mb": {s.name: s.peak_memory() for s in stacks},
            }
        finally:
            for stack in stacks:
                stack.stop()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.reload()
        if redis_server is not None:
            redis_server.stop()
        pg.stop()
    progress(
        f"two servers: p95 {CONCURRENCY} at once {out[f'concurrent_{CONCURRENCY}']['p95_ms']} ms,"
        f" back to back {out[f'back_to_back_{CONCURRENCY}']['p95_ms']} ms"
    )
    return out


def nlu_figures(cross_validation: bool) -> dict:
    out: dict = {}
    runs = [("holdout_macro_f1", [])]
    if cross_validation:
        runs.insert(0, ("cross_validation_macro_f1", ["--cross-validation"]))
    for key, args in runs:
        progress(f"NLU: scripts/nlu_eval.py {' '.join(args) or '(hold-out gate)'}")
        env = rasa_env(Path(tempfile.mkdtemp(prefix="sg-bench-nlu-cache-")))
        result = subprocess.run(
            [sys.executable, "scripts/nlu_eval.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        found = re.findall(r"macro-F1 ([0-9.]+)", result.stdout)
        if not found:
            raise SystemExit(f"bench: nlu_eval.py gave no macro-F1:\n{result.stderr[-2000:]}")
        out[key] = float(found[-1])
        progress(f"NLU {key} {out[key]:.3f}")
    return out


def triage_figures() -> dict:
    progress("triage corpus: recall on immediate and false-alarm rate")
    from bot.core.triage import Detector, load_rules
    from tests.test_triage_corpus import load_cases

    detector = Detector(load_rules())
    results = [(case["expect"], detector.assess(case["text"]).urgency) for case in load_cases()]
    immediate = [got for expect, got in results if expect == "immediate"]
    others = [got for expect, got in results if expect != "immediate"]
    return {
        "cases": len(results),
        "immediate_recall": round(sum(g == "immediate" for g in immediate) / len(immediate), 4),
        "false_alarm_rate": round(sum(g == "immediate" for g in others) / len(others), 4),
        "false_alarms": sum(g == "immediate" for g in others),
        "not_immediate": len(others),
    }


def language_figures(seconds: float) -> dict:
    progress("language checker: precision/recall over the corpus, notes per second (one core)")
    from tests.test_language_corpus import load_corpus, score

    counts, _ = score(load_corpus())
    precision = counts["tp"] / ((counts["tp"] + counts["fp"]) or 1)
    recall = counts["tp"] / ((counts["tp"] + counts["fn"]) or 1)
    run = subprocess.run(
        [sys.executable, "bench/bench_language.py", "--seconds", str(seconds)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    per_note = re.search(r"notes per second .*?: ([0-9,]+)", run.stdout)
    per_sentence = re.search(r"sentences per second: ([0-9,]+)", run.stdout)
    if not per_note or not per_sentence:
        raise SystemExit(f"bench: bench_language.py printed no rate:\n{run.stdout}")
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "notes_per_second": int(per_note.group(1).replace(",", "")),
        "sentences_per_second": int(per_sentence.group(1).replace(",", "")),
    }


def blind_section(model: Path) -> dict:
    """bench/blind.py's figures on the model under test (its questions need the model)."""
    progress("blind sets: triage, language checker and questions, first and latest batch")
    try:
        return blind.blind_figures(model=model)
    except blind.BlindFileError as exc:
        raise SystemExit(f"bench: {exc}") from exc


# --------------------------------------------------------------------------------- targets


def targets(r: dict) -> list[dict]:
    sg, stock = r["conversation"]["safeguard"], r["conversation"]["stock"]
    conc = f"concurrent_{CONCURRENCY}"
    ratio_seq = sg["sequential"]["p95_ms"] / stock["sequential"]["p95_ms"]
    out = [
        {
            "target": "per-turn p95 <= 1.5x the stock assistant (sequential)",
            "measured": f"{ratio_seq:.2f}x ({sg['sequential']['p95_ms']:.0f} vs "
            f"{stock['sequential']['p95_ms']:.0f} ms)",
            "met": ratio_seq <= 1.5,
        },
        {
            "target": f"per-turn p95 with {CONCURRENCY} conversations at once < 500 ms "
            f"({THINK[0]:g}-{THINK[1]:g} s to type each message)",
            "measured": f"{sg[conc]['p95_ms']:.0f} ms",
            "met": sg[conc]["p95_ms"] < 500,
        },
        {
            "target": "danger message -> page delivered p95 < 2 s",
            "measured": f"{r['danger']['to_page']['p95_ms'] / 1000:.2f} s",
            "met": r["danger"]["to_page"]["p95_ms"] < 2000,
        },
    ]
    train_s = r["training"]["safeguard_s"]
    out.append(
        {
            "target": "rasa train from a clean cache < 5 min",
            "measured": "not measured (--quick or --model)"
            if train_s is None
            else f"{train_s / 60:.1f} min",
            "met": None if train_s is None else train_s < 300,
        }
    )
    if r["conversation"]["ratio_p95"].get(conc) is not None:
        ratio = r["conversation"]["ratio_p95"][conc]
        out.insert(
            1,
            {
                "target": f"per-turn p95 <= 1.5x the stock assistant ({CONCURRENCY} at once)",
                "measured": f"{ratio:.2f}x ({sg[conc]['p95_ms']:.0f} vs "
                f"{stock[conc]['p95_ms']:.0f} ms)",
                "met": ratio <= 1.5,
            },
        )
    return out


# --------------------------------------------------------------------------------- reports


MET = {True: "yes", False: "**NO**", None: "n/a"}


def seconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.0f} s"


def markdown(r: dict) -> str:
    conc = f"concurrent_{CONCURRENCY}"
    lines = [
        f"# safeguard benchmark, {r['when']}",
        "",
        f"{r['machine']['cpus']} CPUs, {r['machine']['python']}; load average at start "
        f"{r['machine']['loadavg_start']}, at end {r['machine']['loadavg_end']}"
        + (" (QUICK RUN: not the figures to quote)" if r["quick"] else ""),
        "",
        "| Target | Measured | Met |",
        "|---|---|---|",
    ]
    for t in r["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {MET[t['met']]} |")
    lines += [
        "",
        "| Per-turn latency (ms) | p50 | p95 | p99 | max | turns |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("safeguard", "stock"):
        for mode, label in (
            ("sequential", "one at a time"),
            (conc, f"{CONCURRENCY} at once"),
            (f"back_to_back_{CONCURRENCY}", f"{CONCURRENCY} at once, back to back (stress)"),
        ):
            s = r["conversation"][name][mode]
            if s.get("fail_safe_replies"):
                label += f"; {s['fail_safe_replies']} turns answered by the fail-safe"
            lines.append(
                f"| {name}, {label} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | "
                f"{s['p99_ms']:.0f} | {s['max_ms']:.0f} | {s['n']} |"
            )
    two = r.get("two_servers")
    if two:
        for mode, label in (
            (conc, f"{CONCURRENCY} at once"),
            (f"back_to_back_{CONCURRENCY}", f"{CONCURRENCY} at once, back to back (stress)"),
        ):
            s = two[mode]
            if s.get("fail_safe_replies"):
                label += f"; {s['fail_safe_replies']} turns answered by the fail-safe"
            lines.append(
                f"| safeguard on two servers (PostgreSQL + Redis), {label} | {s['p50_ms']:.0f} | "
                f"{s['p95_ms']:.0f} | {s['p99_ms']:.0f} | {s['max_ms']:.0f} | {s['n']} |"
            )
    d = r["danger"]
    lines += [
        f"| danger message -> page at Telegram | {d['to_page']['p50_ms']:.0f} | "
        f"{d['to_page']['p95_ms']:.0f} | {d['to_page']['p99_ms']:.0f} | "
        f"{d['to_page']['max_ms']:.0f} | {d['runs']} |",
        f"| danger message -> reply with 999 | {d['reply_with_999']['p50_ms']:.0f} | "
        f"{d['reply_with_999']['p95_ms']:.0f} | {d['reply_with_999']['p99_ms']:.0f} | "
        f"{d['reply_with_999']['max_ms']:.0f} | {d['runs']} |",
        "",
        "| Other figure | Value |",
        "|---|---|",
        f"| rasa train, safeguard, clean cache | {seconds(r['training']['safeguard_s'])} |",
        f"| rasa init + train, stock assistant | {r['training']['stock_s']:.0f} s |",
    ]
    for name in ("safeguard", "stock"):
        m = r["memory_mb"][name]
        lines.append(
            f"| peak memory (RSS), {name}: Rasa server / action server | "
            f"{m.get('rasa')} MB / {m.get('actions')} MB |"
        )
    nlu = r["nlu"]
    if "cross_validation_macro_f1" in nlu:
        lines.append(
            f"| NLU macro-F1, 3-fold cross-validation | {nlu['cross_validation_macro_f1']:.3f} |"
        )
    lines.append(
        f"| NLU macro-F1, shipped model on the hold-out set | {nlu['holdout_macro_f1']:.3f} |"
    )
    t, lang = r["triage"], r["language"]
    lines += [
        f"| triage recall on immediate danger ({t['cases']} cases) | {t['immediate_recall']:.3f} |",
        f"| triage false-alarm rate (not immediate, assessed immediate) | "
        f"{t['false_alarm_rate']:.3f} ({t['false_alarms']}/{t['not_immediate']}) |",
        f"| language checker precision / recall | {lang['precision']:.3f} / {lang['recall']:.3f} |",
        f"| language checker, notes (20 sentences) per second, one core | "
        f"{lang['notes_per_second']:,} |",
    ]
    if r.get("blind"):
        lines += ["", "## Blind sets", "", blind.markdown(r["blind"]).rstrip("\n")]
    return "\n".join(lines) + "\n"


def chart(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conc, burst = f"concurrent_{CONCURRENCY}", f"back_to_back_{CONCURRENCY}"
    groups = [
        ("safeguard\none at a time", r["conversation"]["safeguard"]["sequential"]),
        ("stock\none at a time", r["conversation"]["stock"]["sequential"]),
        (f"safeguard\n{CONCURRENCY} at once", r["conversation"]["safeguard"][conc]),
        (f"stock\n{CONCURRENCY} at once", r["conversation"]["stock"][conc]),
        (f"safeguard\n{CONCURRENCY} back to back", r["conversation"]["safeguard"][burst]),
        (f"stock\n{CONCURRENCY} back to back", r["conversation"]["stock"][burst]),
    ]
    if r.get("two_servers"):
        groups += [
            (f"two servers\n{CONCURRENCY} at once", r["two_servers"][conc]),
            (f"two servers\n{CONCURRENCY} back to back", r["two_servers"][burst]),
        ]
    groups.append(("danger ->\npage", r["danger"]["to_page"]))
    fig, ax = plt.subplots(figsize=(13, 5), dpi=110)
    width = 0.26
    for i, (key, label) in enumerate((("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))):
        xs = [n + (i - 1) * width for n in range(len(groups))]
        ax.bar(xs, [g[1][key] for g in groups], width, label=label)
    ax.axhline(500, color="red", linestyle="--", linewidth=1)
    ax.text(
        len(groups) - 0.5,
        510,
        f"500 ms ({CONCURRENCY} at once p95 target)",
        color="red",
        ha="right",
        fontsize=8,
    )
    ax.axhline(2000, color="darkred", linestyle=":", linewidth=1)
    ax.text(
        len(groups) - 0.5,
        2030,
        "2 s (danger -> page p95 target)",
        color="darkred",
        ha="right",
        fontsize=8,
    )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[0] for g in groups], fontsize=8)
    ax.set_ylabel("milliseconds")
    ax.set_title(f"safeguard benchmark {r['when'][:16]} ({r['machine']['cpus']} CPUs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run to try the harness")
    parser.add_argument("--model", type=Path, help="serve this model instead of training one")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument(
        "--single-server", action="store_true", help="skip the two-server (PostgreSQL, Redis) run"
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="sg-bench-"))
    var = work / "var"
    var.mkdir()
    os.environ["SAFEGUARD_VAR"] = str(var)  # bot.commands.processes writes endpoints files here
    roster = var / "roster.yml"
    roster.write_text(ROSTER)
    os.environ["SAFEGUARD_ROSTER"] = str(roster)
    settings.reload()  # this process reads them too (settings are read once, then kept)
    from bot.core.clock import now

    result: dict = {
        "when": now().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": loadavg(),
            "note": "shared machine: other work may have been running (see load averages)",
        },
    }
    sequential, rounds, danger_runs = (2, 1, 8) if args.quick else (5, 2, 40)
    progress(f"working in {work}; load average {result['machine']['loadavg_start']}")
    try:
        started = time.perf_counter()
        if args.model or args.quick:
            model, train_s = (args.model or ROOT / "models" / "safeguard.tar.gz"), None
        else:
            model, train_s = train_safeguard(work)
        if not model.exists():
            raise SystemExit(f"bench: no model at {model}")
        project, stock_s = init_stock(work)
        result["training"] = {
            "safeguard_s": train_s,
            "stock_s": round(stock_s, 1),
            "loadavg_after": loadavg(),
        }
        if train_s is not None:
            result["training"]["safeguard_s"] = round(train_s, 1)

        env = harness.bench_env(
            var,
            {
                "SAFEGUARD_ROSTER": str(roster),
                "SAFEGUARD_DB_URL": f"sqlite:///{var / 'bench.sqlite3'}",
                "TELEGRAM_BOT_TOKEN": TOKEN,
            },
        )
        conversation: dict = {}
        memory: dict = {}
        with TimedTelegram() as telegram:
            env["TELEGRAM_BASE_URL"] = telegram.fake.base_url
            progress("starting the safeguard assistant (Rasa, action server, pager)")
            with harness.safeguard_stack(model, env, work / "logs") as ours:
                progress("starting the stock assistant (Rasa, its action server)")
                with harness.stock_stack(project, harness.bench_env(var), work / "logs") as stock:
                    conversation.update(
                        conversation_figures(
                            [
                                Assistant(
                                    ours,
                                    DISCLOSURE,
                                    check_saved,
                                    lambda: acknowledge_pages(env["SAFEGUARD_DB_URL"]),
                                ),
                                Assistant(stock, STOCK, check_stock),
                            ],
                            sequential,
                            rounds,
                        )
                    )
                    memory["stock"] = stock.peak_memory()
                acknowledge_pages(env["SAFEGUARD_DB_URL"])
                result["danger"] = danger_to_page(ours, telegram, danger_runs)
                memory["safeguard"] = ours.peak_memory()
        conc = f"concurrent_{CONCURRENCY}"
        conversation["ratio_p95"] = {
            mode: round(
                conversation["safeguard"][mode]["p95_ms"] / conversation["stock"][mode]["p95_ms"],
                2,
            )
            for mode in ("sequential", conc, f"back_to_back_{CONCURRENCY}")
        }
        result["conversation"] = conversation
        result["memory_mb"] = memory
        if not args.single_server:
            result["two_servers"] = two_server_figures(model, work, var, roster)
        result["nlu"] = nlu_figures(cross_validation=not args.quick)
        result["triage"] = triage_figures()
        result["language"] = language_figures(1.0 if args.quick else 3.0)
        result["blind"] = blind_section(model)
        result["machine"]["loadavg_end"] = loadavg()
        result["seconds"] = round(time.perf_counter() - started, 1)
        result["targets"] = targets(result)
    finally:
        if args.keep:
            progress(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    args.out.mkdir(parents=True, exist_ok=True)
    stem = "quick" if args.quick else "latest"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (args.out / f"{stem}.md").write_text(table)
    chart(result, args.out / f"{stem}.png")
    print()
    print(table)
    progress(f"wrote {args.out / stem}.json, .md and .png in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
