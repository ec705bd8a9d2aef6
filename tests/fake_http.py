"""A recording HTTP server on loopback for tests (e.g. a Teams Workflows webhook).

Runs `http.server.ThreadingHTTPServer` in a background thread. Every request is recorded
(method, path, headers, raw body, parsed JSON or form). Status codes can be scripted with
`fail_next(n, status)` to exercise retries. Never listens beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


Responder = Callable[[Recorded], tuple[int, Any]]


class FakeHTTPServer:
    """`with FakeHTTPServer() as server: ... server.url ... server.requests`."""

    def __init__(self, responder: Responder | None = None, default_status: int = 202) -> None:
        self.requests: list[Recorded] = []
        self.responder = responder
        self.default_status = default_status
        self._failures: list[int] = []
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._cond:
            self._failures.extend([status] * count)

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHTTPServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # keep test output clean
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                ctype = record.headers.get("content-type", "")
                if "json" in ctype and body:
                    try:
                        record.json = json.loads(body)
                    except ValueError:
                        record.json = None
                elif "x-www-form-urlencoded" in ctype:
                    record.form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                status, payload = outer._respond(record)
                # Recorded before the reply goes out, so a client that has its answer can
                # rely on seeing its request here.
                with outer._cond:
                    outer.requests.append(record)
                    outer._cond.notify_all()
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def _respond(self, record: Recorded) -> tuple[int, Any]:
        with self._cond:
            scripted = self._failures.pop(0) if self._failures else None
        if scripted is not None:
            return scripted, {"ok": False, "error_code": scripted, "description": "scripted"}
        if self.responder is not None:
            return self.responder(record)
        return self.default_status, None

    def wait_for(self, predicate: Callable[[list[Recorded]], bool], timeout: float = 5.0) -> bool:
        """Block until `predicate(requests)` holds (event-driven, not a timing assertion)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.requests), timeout=timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()
