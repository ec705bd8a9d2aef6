"""How much one chat message may hold, and what the worker is told when it is more.

One place for the limit, so the Rasa channel, the Telegram gateway and the Teams channel
refuse the same messages with the same words. A refused message is never silently cut:
cutting a disclosure could drop the very sentence that matters, so the worker is asked to
send it in parts, and is given 999 and the Safeguarding Lead's number in the same reply.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from bot.config import settings

# Twice Telegram's 4,096-character message limit: a long pasted note fits, a runaway paste
# (or a hostile 100 KB message) does not reach the language model or the concern log.
MAX_MESSAGE_CHARS = 8000


def too_long(text: str) -> bool:
    return len(text) > MAX_MESSAGE_CHARS


# --------------------------------------------------------------------------- rate limits
#
# A flood of messages from one sender (a stuck client, a hostile script with a stolen
# identity) must not starve everyone else of the Rasa server or fill the tracker store and
# the logs. Each sender has a token bucket: BURST messages at once, refilled at PER_MINUTE.
# A sender over the limit gets one plain line with 999 and the numbers; a message that reads
# as danger is never held back (the fail-safe gives it 999 first and pages the lead).

RATE_ENV = "SAFEGUARD_RATE_PER_MINUTE"
BURST_ENV = "SAFEGUARD_RATE_BURST"
# A whole disclosure (about 15 turns, many of them button taps) fits in the burst however
# fast the worker taps; a script sending hundreds a minute does not.
DEFAULT_PER_MINUTE = settings.DEFAULT_RATE_PER_MINUTE
DEFAULT_BURST = settings.DEFAULT_RATE_BURST
MAX_SENDERS = 10_000  # buckets kept; the longest idle are forgotten first (all full by then)
# The largest request body the REST channel reads. Far above any message a client sends (the
# gateway's are Telegram's 4,096 characters), because a body under it that is too long is
# still read for danger (999 first and a page, then "send it in parts"); over it, the reply
# is one plain line with 999 and the numbers, and nothing is read.
MAX_BODY_BYTES = 1024 * 1024


class RateLimiter:
    """Per-sender token buckets. `allow(sender)` takes a token if there is one."""

    def __init__(
        self,
        per_minute: float | None = None,
        burst: float | None = None,
        clock=None,  # noqa: ANN001 - a () -> seconds callable (tests pin it)
    ) -> None:

        config = settings.current()  # SAFEGUARD_RATE_PER_MINUTE, SAFEGUARD_RATE_BURST
        self.rate = (per_minute or config.rate_per_minute) / 60.0
        self.burst = burst or config.rate_burst
        self.clock = clock or time.monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, sender: str) -> bool:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(sender, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[sender] = (tokens, now)
            while len(self._buckets) > MAX_SENDERS:
                self._buckets.popitem(last=False)
            return allowed
