"""Two safeguard servers on loopback, as Rasa documents scaling out. Ctrl-C stops everything.

    .venv/bin/python scripts/scale_out.py [--ports 5005,5006]      (or: scripts/scale_out.sh)

Starts, all bound to 127.0.0.1:
  * PostgreSQL (installed with apt-get if missing): one database for the conversations
    (the protected SQL tracker store) and one for the concern log;
  * Redis (installed with apt-get if missing): Rasa's lock store, on its own database (1);
  * two `safeguard serve` nodes (each a Rasa server, an action server and a pager) sharing
    both databases, the lock store and one concern-log key.

Each conversation must stay on one node (the open-source Redis lock store can race when
two servers take the same conversation at once): put the gateway in front with
SAFEGUARD_RASA_URLS set to the URLs printed, and bot.clients.rasa_client sends every
sender to the same node (crc32 of the sender id). Both pagers may run: a page is claimed
by one of them only (a conditional UPDATE), so nobody is paged twice.

The databases live in a temp dir and are deleted when this stops: this shows and tests the
set-up on one machine. On real servers, set the same variables (printed at start) to your
own PostgreSQL and Redis and run `safeguard serve` on each machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOCK_DB = 1


def parse_ports(text: str) -> list[int]:
    try:
        ports = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise SystemExit("scale_out: --ports takes numbers, e.g. 5005,5006") from None
    if len(ports) < 2 or len(set(ports)) != len(ports) or not all(1024 < p < 65000 for p in ports):
        raise SystemExit("scale_out: --ports takes two or more different ports 1025-64999")
    return ports


def wait_ready(name: str, log: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "[serve] ready" in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise SystemExit(f"scale_out: {name} did not start (log {log}):\n{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", default="5005,5006", help="Rasa ports, one per node")
    parser.add_argument(
        "--ready-only", action="store_true", help="stop once every node is ready (a smoke test)"
    )
    args = parser.parse_args(argv)
    ports = parse_ports(args.ports)

    from cryptography.fernet import Fernet

    from bot.commands import processes
    from tests.pg_server import PostgresServer, PostgresUnavailable
    from tests.redis_server import RedisServer, RedisUnavailable

    work = Path(tempfile.mkdtemp(prefix="safeguard-scale-out-"))
    print(f"[scale-out] working in {work} (deleted on exit)", flush=True)
    pg, redis_server = None, None
    nodes: list[tuple[str, subprocess.Popen, Path]] = []
    processes.raise_stop_on_sigterm()
    try:
        pg = PostgresServer()
        pg.start()
        redis_server = RedisServer().start()
        key_file = work / "concern.key"
        key_file.write_bytes(Fernet.generate_key() + b"\n")
        key_file.chmod(0o600)
        # One channel secret and one action secret for every node and the gateway.
        secret_files = {}
        for name in ("channel", "action"):
            path = work / f"{name}.secret"
            path.write_text(secrets.token_urlsafe(32) + "\n")
            path.chmod(0o600)
            secret_files[f"SAFEGUARD_{name.upper()}_SECRET_FILE"] = str(path)
        shared = {
            **secret_files,
            "SAFEGUARD_TRACKER_URL": pg.create_database("safeguard_conversations"),
            "SAFEGUARD_DB_URL": pg.create_database("safeguard_concerns"),
            "SAFEGUARD_LOCK_URL": redis_server.url(LOCK_DB),
            "SAFEGUARD_KEY_FILE": str(key_file),
        }
        print("[scale-out] shared by every node:", flush=True)
        for name, value in shared.items():
            print(f"    {name}={value}", flush=True)
        for n, port in enumerate(ports):
            name = f"node-{n + 1}"
            var = work / name
            var.mkdir()
            env = dict(os.environ, SAFEGUARD_VAR=str(var), **shared)
            env.pop("SAFEGUARD_KEY", None)
            log = work / f"{name}.log"
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    [
                        sys.executable, "-m", "bot.commands.cli", "serve",
                        "--port", str(port), "--actions-port", str(port + 50),
                    ],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
            nodes.append((name, proc, log))
            print(f"[scale-out] {name}: Rasa :{port}, actions :{port + 50} (log {log})", flush=True)
        for name, proc, log in nodes:
            wait_ready(name, log, proc)
        urls = ",".join(f"http://127.0.0.1:{p}" for p in ports)
        print(
            f"[scale-out] ready. For the gateway: SAFEGUARD_RASA_URLS={urls} "
            f"SAFEGUARD_CHANNEL_SECRET_FILE={secret_files['SAFEGUARD_CHANNEL_SECRET_FILE']}",
            flush=True,
        )
        if args.ready_only:
            return 0
        print("[scale-out] Ctrl-C stops every node, Redis and PostgreSQL", flush=True)
        while all(proc.poll() is None for _name, proc, _log in nodes):
            time.sleep(1)
        stopped = [name for name, proc, _log in nodes if proc.poll() is not None]
        print(f"[scale-out] {', '.join(stopped)} stopped; stopping the rest", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, processes.Stop):
        print("\n[scale-out] stopping", flush=True)
        return 0
    except (PostgresUnavailable, RedisUnavailable) as exc:
        print(f"scale_out: {exc}", file=sys.stderr)
        return 1
    finally:
        for _name, proc, _log in nodes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _name, proc, _log in nodes:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        if redis_server is not None:
            redis_server.stop()
        if pg is not None:
            pg.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
