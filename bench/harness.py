"""Start a Rasa assistant (Rasa server + action server, optionally the pager) on loopback,
talk to it over the REST channel, and read each server's peak memory.

Shared by bench/bench_conversation.py and bench/run.py. Nothing here leaves the machine:
every server binds 127.0.0.1 on a free port, and the safeguard pager talks to a fake
Telegram server (tests/fake_telegram.py).
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands import processes  # noqa: E402

RASA = Path(sys.executable).parent / "rasa"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds of samples in seconds."""
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "max_ms": round(max(ms), 1),
        "mean_ms": round(sum(ms) / len(ms), 1),
    }


def peak_rss_mb(pid: int) -> float | None:
    """The kernel's high-water mark of resident memory (VmHWM) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Stack:
    """One assistant: an action server and a Rasa server (plus the pager for safeguard)."""

    name: str
    rasa_cmd: list[str]
    actions_cmd: list[str]
    port: int
    actions_port: int
    cwd: Path
    env: dict[str, str]
    pager_cmd: list[str] | None = None
    log_dir: Path | None = None
    group: processes.ProcessGroup = field(default_factory=processes.ProcessGroup)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / f"{self.name}-{name}.log", "ab")  # noqa: SIM115
        proc = self.group.start(
            name,
            cmd,
            env=self.env,
            cwd=self.cwd,
            stdout=log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        if log is not None:
            log.close()
        return proc

    def start(self, timeout: float = 300) -> Stack:
        actions = self._start("actions", self.actions_cmd)
        if self.pager_cmd:
            self._start("pager", self.pager_cmd)
        rasa = self._start("rasa", self.rasa_cmd)
        ok = processes.wait_for_http(
            f"http://127.0.0.1:{self.actions_port}/health", timeout, actions
        ) and processes.wait_for_http(f"http://127.0.0.1:{self.port}/", timeout, rasa)
        if not ok:
            self.stop()
            where = f" (logs in {self.log_dir})" if self.log_dir else ""
            raise RuntimeError(f"the {self.name} assistant did not start{where}")
        return self

    def peak_memory(self) -> dict[str, float | None]:
        return {
            name: peak_rss_mb(proc.pid)
            for name, proc in self.group.children.items()
            if name in ("rasa", "actions")
        }

    def stop(self) -> None:
        self.group.stop(grace=20)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def safeguard_stack(model: Path, env: dict[str, str], log_dir: Path | None) -> Stack:
    """The same three processes `safeguard serve` starts (bot/commands/processes.py)."""
    from bot.config.secrets import hand_to_children

    port, actions_port = free_port(), free_port()
    env = dict(env)
    hand_to_children(env)  # the channel secret `say` signs with, as `safeguard serve` does
    # The bench measures latency: scripted conversations type faster than people, so the
    # per-sender rate limit (bot/core/limits.py) is set out of their way.
    env.setdefault("SAFEGUARD_RATE_BURST", "100000")
    return Stack(
        name="safeguard",
        rasa_cmd=processes.rasa_run_cmd(model, port, actions_port),
        actions_cmd=processes.action_server_cmd(actions_port),
        pager_cmd=processes.pager_cmd(),
        port=port,
        actions_port=actions_port,
        cwd=ROOT,
        env=env,
        log_dir=log_dir,
    )


def stock_stack(project: Path, env: dict[str, str], log_dir: Path | None) -> Stack:
    """The `rasa init` assistant in `project`, with its own action server."""
    port, actions_port = free_port(), free_port()
    endpoints = project / "bench-endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://localhost:{actions_port}/webhook"\n')
    return Stack(
        name="stock",
        rasa_cmd=[
            str(RASA),
            "run",
            "--model",
            str(project / "models"),
            "--port",
            str(port),
            "--credentials",
            str(project / "credentials.yml"),
            "--endpoints",
            str(endpoints),
            "--quiet",
        ],
        actions_cmd=[
            str(RASA),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(actions_port),
        ],
        port=port,
        actions_port=actions_port,
        cwd=project,
        env=env,
        log_dir=log_dir,
    )


# ---------------------------------------------------------------------------- conversations


async def say(session, url: str, sender: str, text: str) -> tuple[float, list[dict]]:  # noqa: ANN001
    """POST one message; (seconds until the whole reply arrived, the reply)."""
    from bot.config.secrets import CHANNEL_SECRET, shared_secret
    from bot.core import channel_auth

    # Signed like the terminal chat (the stock assistant ignores the headers).
    qualified = sender if channel_auth.channel_of(sender) else f"terminal:{sender}"
    data = json.dumps({"sender": qualified, "message": text}).encode()
    headers = {
        "Content-Type": "application/json",
        **channel_auth.sign(shared_secret(CHANNEL_SECRET), data),
    }
    started = time.perf_counter()
    async with session.post(url, data=data, headers=headers) as response:
        body = await response.json(content_type=None)
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from {url}")
    return time.perf_counter() - started, body


Think = tuple[float, float] | None

# What the fail-safe REST channel (bot/rasa/channels/rest.py) answers when Rasa or the action
# server took too long: the turn is counted, and its latency is the wait the worker had.
HELD_REPLY = "I could not do that just now"


def _url_for(url, sender: str) -> str:  # noqa: ANN001
    return url(sender) if callable(url) else url


async def converse(
    session,  # noqa: ANN001
    url,  # noqa: ANN001
    sender: str,
    turns: Sequence[str],
    check=None,  # noqa: ANN001
    think: Think = None,
    seed: int = 0,
    held: list[str] | None = None,
) -> list[float]:
    """One scripted conversation; per-turn latencies. `check(sender, replies)` validates the
    last reply. `think=(lo, hi)`: a pause drawn from that range (seconds, seeded) before each
    turn, as a worker reads the question and types; None: turns back to back."""
    rng = random.Random(seed)
    target = _url_for(url, sender)
    latencies: list[float] = []
    replies: list[dict] = []
    for text in turns:
        if think is not None:
            await asyncio.sleep(rng.uniform(*think))
        seconds, replies = await say(session, target, sender, text)
        latencies.append(seconds)
        if held is not None and any(HELD_REPLY in (r.get("text") or "") for r in replies):
            held.append(sender)
    if check is not None:
        check(sender, replies)
    return latencies


async def run_conversations(
    url,  # noqa: ANN001
    prefix: str,
    turns: Sequence[str],
    conversations: int,
    concurrency: int,
    check=None,  # noqa: ANN001
    think: Think = None,
    seed: int = 2026,
    held: list[str] | None = None,
) -> list[float]:
    """`conversations` scripted conversations, `concurrency` of them at any moment, each
    with its own sender id; every turn's latency. `url` is a URL, or a function of the
    sender giving one (a conversation sticks to one server)."""
    import aiohttp

    limit = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency + 5)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def one(n: int) -> list[float]:
            async with limit:
                return await converse(
                    session, url, f"{prefix}-{n:04d}", turns, check, think, seed + n, held
                )

        results = await asyncio.gather(*(one(n) for n in range(conversations)))
    return [seconds for latencies in results for seconds in latencies]


def latencies(
    url,  # noqa: ANN001
    prefix: str,
    turns: Sequence[str],
    conversations: int,
    concurrency: int,
    check=None,  # noqa: ANN001
    think: Think = None,
    held: list[str] | None = None,
) -> list[float]:
    """Every turn's latency; turns the fail-safe answered instead are appended to `held`."""
    return asyncio.run(
        run_conversations(url, prefix, turns, conversations, concurrency, check, think, held=held)
    )


def bench_env(var: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The children's environment: our own var dir and database, no real channel."""
    env = processes.child_env()
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "SAFEGUARD_TELEGRAM_TOKEN",
        "SAFEGUARD_DB_URL",
        "SAFEGUARD_KEY",
        "SAFEGUARD_KEY_FILE",
        "SAFEGUARD_NOW",
    ):
        env.pop(name, None)
    env.update(SAFEGUARD_VAR=str(var), SAFEGUARD_TEAMS_DISABLED="1")
    env.update(extra or {})
    return env
