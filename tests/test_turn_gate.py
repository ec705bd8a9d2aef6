"""bot.failsafe.safety.TurnGate and how SafetyNet uses it: at most a few turns run at once
in one Rasa server, a turn never waits long for a place, and danger never waits at all.

Order is checked with events, not timings (a slow machine cannot make these pass wrongly).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.failsafe.safety import SafetyNet, Turn, TurnGate

DANGER = "hes outside the centre with a knife now"


@pytest.fixture(autouse=True)
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T14:30")


def test_places_are_limited_and_handed_on_in_order() -> None:
    async def scenario() -> list[str]:
        gate = TurnGate(places=2, wait=60)
        order: list[str] = []

        async def turn(name: str, release: asyncio.Event) -> None:
            assert await gate.enter()
            order.append(f"{name} in")
            await release.wait()
            order.append(f"{name} out")
            gate.leave()

        releases = {name: asyncio.Event() for name in "abcd"}
        tasks = []
        for name in "abcd":
            tasks.append(asyncio.create_task(turn(name, releases[name])))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert order == ["a in", "b in"]  # c and d wait
        releases["b"].set()
        await asyncio.sleep(0.01)
        releases["a"].set()
        await asyncio.sleep(0.01)
        releases["c"].set()
        releases["d"].set()
        await asyncio.gather(*tasks)
        assert gate.busy == 0
        return order

    assert asyncio.run(scenario()) == [
        "a in", "b in", "b out", "c in", "a out", "d in", "c out", "d out",
    ]  # fmt: skip


def test_a_turn_that_waited_too_long_goes_ahead_without_a_place() -> None:
    async def scenario() -> tuple[bool, int]:
        gate = TurnGate(places=1, wait=0.05)
        assert await gate.enter()  # held, as by a turn stuck on a hung action server
        got = await gate.enter()
        gate.leave()  # the stuck turn ends: its place is freed, nobody is still waiting
        return got, gate.busy

    assert asyncio.run(scenario()) == (False, 0)


def test_a_long_queue_keeps_its_order_while_places_are_handed_on() -> None:
    # Six turns queue behind one; each holds its place 0.1 s, so the last waits 0.6 s in
    # all, longer than `wait` (0.5 s), yet never gives up: places keep moving.
    async def scenario() -> list[bool]:
        gate = TurnGate(places=1, wait=0.5)
        assert await gate.enter()
        got: list[bool] = []

        async def turn() -> None:
            got.append(await gate.enter())
            await asyncio.sleep(0.1)
            gate.leave()

        tasks = [asyncio.create_task(turn()) for _ in range(6)]
        await asyncio.sleep(0.1)
        gate.leave()
        await asyncio.gather(*tasks)
        assert gate.busy == 0
        return got

    assert asyncio.run(scenario()) == [True] * 6


def test_a_cancelled_waiter_never_loses_a_place() -> None:
    async def scenario() -> int:
        gate = TurnGate(places=1, wait=60)
        assert await gate.enter()
        waiter = asyncio.create_task(gate.enter())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        gate.leave()
        assert gate.busy == 0
        # Handed a place in the same moment as being cancelled: the place is passed on.
        assert await gate.enter()
        waiter = asyncio.create_task(gate.enter())
        await asyncio.sleep(0.01)
        gate.leave()  # hands the place to `waiter`...
        waiter.cancel()  # ...which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return gate.busy

    assert asyncio.run(scenario()) == 0


class Blocked:
    """A SafetyNet whose turns run until released (a busy Rasa), noting when each started.
    Make it inside the running event loop."""

    def __init__(self, reply_within: float = 30) -> None:
        self.net = SafetyNet(reply_within=reply_within)
        self.started: list[str] = []
        self.release = asyncio.Event()

    async def process(self, turn: Turn) -> None:
        self.started.append(turn.text)
        await self.release.wait()
        turn.replies.append({"recipient_id": turn.sender, "text": f"re: {turn.text}"})

    def send(self, sender: str, text: str) -> asyncio.Task:
        return asyncio.create_task(self.net.respond(sender, text, self.process))

    def send_many(self, count: int) -> list[asyncio.Task]:
        return [self.send(f"worker-{n}", f"message {n}") for n in range(count)]


def test_safety_net_runs_at_most_two_turns_at_once() -> None:
    async def scenario() -> list[str]:
        blocked = Blocked()
        tasks = blocked.send_many(3)
        await asyncio.sleep(0.1)  # well under the gate's wait (0.25 s)
        assert blocked.started == ["message 0", "message 1"]
        blocked.release.set()
        replies = await asyncio.gather(*tasks)
        assert [r[0]["text"] for r in replies] == [
            "re: message 0",
            "re: message 1",
            "re: message 2",
        ]
        return blocked.started

    assert asyncio.run(scenario()) == ["message 0", "message 1", "message 2"]


def test_a_danger_message_never_waits_for_a_place() -> None:
    async def scenario() -> None:
        blocked = Blocked()
        busy = blocked.send_many(2)
        await asyncio.sleep(0.01)
        danger = blocked.send("worker-9", DANGER)
        await asyncio.sleep(0.01)  # far under the gate's wait: danger did not queue
        assert blocked.started == ["message 0", "message 1", DANGER]
        blocked.release.set()
        replies = await danger
        assert "999" in replies[0]["text"]
        await asyncio.gather(*busy)

    asyncio.run(scenario())


@pytest.mark.serial  # a 0.2-second margin
def test_the_wait_for_a_place_counts_towards_the_reply_bound() -> None:
    async def scenario() -> list[dict]:
        blocked = Blocked(reply_within=0.5)
        blocked.send_many(2)
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        begun = loop.time()
        replies = await blocked.net.respond("worker-3", "who do i call", blocked.process)
        took = loop.time() - begun
        blocked.release.set()
        assert took < 0.5 + 0.2, took  # the bound, not the bound plus the wait
        return replies

    replies = asyncio.run(scenario())
    assert replies[-1]["text"].startswith("I could not do that just now: it is taking")
