"""Signed requests to the Rasa server's REST channel: who is talking comes from a credential.

The Telegram gateway and the terminal chat know who a person is (Telegram proves its user
ids; the terminal is the account running it). They tell the Rasa server by POSTing to the
REST channel with three headers, and the channel believes the body's `sender` only when they
check out:

  X-Safeguard-Timestamp  seconds since the epoch when the request was signed
  X-Safeguard-Nonce      a random value used once
  X-Safeguard-Signature  hex HMAC-SHA256 over "<timestamp>\\n<nonce>\\n" + the exact body,
                         keyed with the per-deployment channel secret
                         (SAFEGUARD_CHANNEL_SECRET / _FILE, bot.config.secrets.shared_secret)

The body (sender, message, metadata) is covered by the signature, so it cannot be changed
in flight; a request older or newer than WINDOW_SECONDS is refused, and a nonce seen within
the window is refused again (a replay). The nonces live in this process: with several Rasa
servers, a request captured on the way to one could be replayed to another within the
window (README, "Security", what is left).

Senders must name their channel ("telegram:<user id>", "terminal:<account>"): a bare name is
refused, so no signed sender is ever read as a roster id (bot.records.access.worker_for).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _random
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping

TIMESTAMP = "X-Safeguard-Timestamp"
NONCE = "X-Safeguard-Nonce"
SIGNATURE = "X-Safeguard-Signature"
# Generous enough for two machines' clocks drifting apart, short enough that a captured
# request is soon worthless even where the nonce cache does not reach.
WINDOW_SECONDS = 120
MAX_NONCES = 100_000
# The channels whose clients sign (their senders); Teams is checked by its own channel.
SIGNED_CHANNELS = ("telegram", "terminal")


def _mac(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = f"{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three headers that make `body` a signed request."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = _random.token_hex(16)
    return {TIMESTAMP: timestamp, NONCE: nonce, SIGNATURE: _mac(secret, timestamp, nonce, body)}


def channel_of(sender: str) -> str | None:
    """'telegram' for 'telegram:123'; None for a sender that names no channel."""
    channel, sep, rest = sender.partition(":")
    return channel if sep and rest else None


class Verifier:
    """Checks signed requests; remembers nonces for WINDOW_SECONDS against replays."""

    def __init__(self, secret: str, window: float = WINDOW_SECONDS) -> None:
        if not secret:
            raise ValueError("the channel secret is empty")
        self._secret = secret
        self.window = window
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def problem(
        self, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> str | None:
        """Why the request is not a good signed one (a short phrase for the log), or None."""
        now = time.time() if now is None else now
        # Header names are case-insensitive (HTTP/2 and some proxies send them lower-case).
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        timestamp = lowered.get(TIMESTAMP.lower(), "")
        nonce = lowered.get(NONCE.lower(), "")
        signature = lowered.get(SIGNATURE.lower(), "")
        if not (timestamp and nonce and signature):
            return "unsigned"
        if not timestamp.isdigit() or not 16 <= len(nonce) <= 64 or len(signature) != 64:
            return "malformed signature headers"
        expected = _mac(self._secret, timestamp, nonce, body)
        if not hmac.compare_digest(expected, signature.lower()):
            return "bad signature"
        if abs(now - int(timestamp)) > self.window:
            return "timestamp outside the window"
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.window:
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return "replayed"
            if len(self._seen) >= MAX_NONCES:
                # Full of fresh nonces: a flood. Refusing is safe (the client falls back to
                # 999 and the numbers); forgetting one could let a replay through.
                return "too many requests in the window"
            self._seen[nonce] = now
        return None
