"""Shared by the single-core benchmarks: pin the process, and count calls per second."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity here)"


def rate(fn: Callable[[str], object], texts: list[str], seconds: float) -> tuple[float, int]:
    """Calls of `fn` per second over `texts`, repeated for at least `seconds`."""
    done = 0
    start = time.perf_counter()
    while True:
        for text in texts:
            fn(text)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done
