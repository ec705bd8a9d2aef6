"""Closed by default, tried as an outsider would (docs/security.md lists each threat).

The real processes on loopback (`tests/failsafe_stack.Stack`: the Rasa server, the action
server and the pager started the way `safeguard serve` starts them), attacked over HTTP:
forged action calls, unsigned and spoofed senders, replayed, tampered and stale signed
requests, a worker asking for a lead's view, an oversize body and a flood. Then the parts
with no listener of their own (the development REST form, Teams identities, the Telegram
gateway's limits and page buttons) with the fakes the other suites use.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.commands import processes
from bot.core import channel_auth
from bot.records.access import worker_for
from tests.failsafe_stack import Stack, joined, texts
from tests.test_telegram_gateway import (  # noqa: F401 - fixtures
    DANGER,
    LEAD,
    ROSTER,
    WORKER,
    FakeRasa,
    fake,
    make_page,
    page_status,
    rasa,
    run,
    say,
    world,
)

LEAD_SENDER = f"telegram:{LEAD}"  # Alex, a lead in the example roster, as the gateway signs
CANARY = "canary-child-words-Ellie-Brown"
# A sender's bucket in this module's stack: this many messages, then (practically) no refill.
BURST = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert (Path(processes.ROOT) / "models" / "safeguard.tar.gz").exists(), "run make train"
    s = Stack(tmp_path_factory.mktemp("security"))
    s.extra = {"SAFEGUARD_RATE_PER_MINUTE": "0.001", "SAFEGUARD_RATE_BURST": str(BURST)}
    s.telegram.http.start()  # where the pager sends the lead's pages
    try:
        s.start_actions()
        s.start_pager()
        s.start_rasa()
        yield s
    finally:
        s.stop()
        s.telegram.http.stop()


def raw_post(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict | list]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 (loopback)
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def rest_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.port}/webhooks/rest/webhook"


def body_of(sender: str, message: str) -> bytes:
    return json.dumps({"sender": sender, "message": message}).encode()


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (from /proc/net/tcp{,6})."""
    found: set[str] = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, _, port_hex = local.partition(":")
            if state == "0A" and int(port_hex, 16) == port and len(address) == width:
                found.add(address)
    return found


LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


def page_count(stack: Stack) -> int:
    return len(stack.page_rows())


def refs(stack: Stack) -> set[str]:
    return {c.reference for c in stack.concerns()}


def audit_entries(stack: Stack) -> list[Any]:
    from bot.records.audit import AuditTrail

    with stack.reading():
        return AuditTrail(stack.db_url).entries()


# --------------------------------------------------------------------------- 1. loopback


def test_every_listener_is_on_loopback(stack: Stack) -> None:
    for port in (stack.port, stack.actions_port):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert addresses <= LOOPBACK_HEX, (port, addresses)


def test_start_up_names_what_protects_a_listener_off_loopback() -> None:
    assert processes.exposure_lines("127.0.0.1", "127.0.0.1", 5005, 5055) == []
    rasa_line, actions_line = processes.exposure_lines("0.0.0.0", "10.0.0.5", 5005, 5055)
    assert "0.0.0.0:5005" in rasa_line and "signed" in rasa_line
    assert "10.0.0.5:5055" in actions_line and "action secret" in actions_line
    assert processes.action_server_cmd(5055)[-2:] == ["--host", "127.0.0.1"]
    cmd = processes.rasa_run_cmd(Path("m.tar.gz"), 5005, 5055)
    assert cmd[cmd.index("--interface") + 1] == "127.0.0.1"


# --------------------------------------------------------------------------- 2. action server


def forged_call(text: str) -> bytes:
    return json.dumps(
        {
            "next_action": "action_raise_alarm",
            "sender_id": "intruder",
            "version": "3.6.21",
            "tracker": {
                "sender_id": "intruder",
                "slots": {},
                "latest_message": {"text": text, "intent": {"name": "danger_now"}},
                "events": [],
                "active_loop": {},
                "latest_action_name": "action_listen",
            },
            "domain": {},
        }
    ).encode()


@pytest.mark.parametrize("header", [None, "not-the-secret"])
def test_a_forged_action_call_is_refused_and_pages_nobody(stack: Stack, header: str | None) -> None:
    before_refs, before_pages = refs(stack), page_count(stack)
    headers = {"X-Safeguard-Action-Secret": header} if header else {}
    url = f"http://127.0.0.1:{stack.actions_port}"
    status, answer = raw_post(f"{url}/webhook", forged_call(f"knife now {CANARY}"), headers)
    assert (status, answer) == (401, {"error": "unauthorised"})
    request = urllib.request.Request(f"{url}/actions", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as listing:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 (loopback)
    assert listing.value.code == 401
    with urllib.request.urlopen(f"{url}/health", timeout=30) as health:  # noqa: S310
        assert health.status == 200  # a liveness check runs nothing
    assert refs(stack) == before_refs and page_count(stack) == before_pages
    log = stack.log_tail("actions", 200)
    assert "refused a POST /webhook" in log
    assert CANARY not in log and "intruder" not in log  # nothing of the tracker is logged


def test_rasas_own_action_calls_carry_the_secret(stack: Stack) -> None:
    """The positive control: a danger message goes through Rasa to the action server."""
    before = refs(stack)
    replies = stack.post("terminal:sec-danger", DANGER)
    assert "999" in texts(replies)[0]
    assert len(refs(stack) - before) == 1


# --------------------------------------------------------------------------- 3. identity


@pytest.mark.parametrize("sender", ["alex", LEAD_SENDER, str(LEAD)])
def test_an_unsigned_request_is_refused_whoever_it_claims_to_be(stack: Stack, sender: str) -> None:
    status, answer = raw_post(rest_url(stack), body_of(sender, f"show open concerns {CANARY}"))
    assert status == 401
    assert "999" in answer["error"] and "\n" not in answer["error"]
    log = stack.log_tail("rasa", 200)
    assert "refused a request (unsigned)" in log and CANARY not in log


def test_a_signed_sender_must_name_its_channel(stack: Stack) -> None:
    body = body_of("alex", "show open concerns")
    status, answer = raw_post(rest_url(stack), body, channel_auth.sign(stack.channel_secret, body))
    assert status == 400 and "must name its channel" in answer["error"]


def test_a_request_signed_with_another_secret_is_refused(stack: Stack) -> None:
    body = body_of(LEAD_SENDER, "/list_open_concerns")
    status, _ = raw_post(rest_url(stack), body, channel_auth.sign("x" * 43, body))
    assert status == 401


def test_replayed_tampered_and_stale_requests_are_refused(stack: Stack) -> None:
    body = body_of("terminal:sec-replay", "hiya")
    headers = channel_auth.sign(stack.channel_secret, body)
    assert raw_post(rest_url(stack), body, headers)[0] == 200
    assert raw_post(rest_url(stack), body, headers)[0] == 401  # the same request again
    forged = body_of(LEAD_SENDER, "/list_open_concerns")
    fresh = channel_auth.sign(stack.channel_secret, body)
    assert raw_post(rest_url(stack), forged, fresh)[0] == 401  # another body, same headers
    for skew in (-3600, 3600):
        old = channel_auth.sign(stack.channel_secret, body, now=time.time() + skew)
        assert raw_post(rest_url(stack), body, old)[0] == 401
    log = stack.log_tail("rasa", 200)
    for reason in ("replayed", "bad signature", "timestamp outside the window"):
        assert f"refused a request ({reason})" in log


def test_a_worker_gets_a_workers_view_whatever_name_they_send(stack: Stack) -> None:
    stack.post("terminal:sec-raiser", DANGER)  # at least one open concern exists
    for sender in ("terminal:alex", f"terminal:{LEAD}", "telegram:700000001"):
        reply = joined(stack.post(sender, "/list_open_concerns"))
        assert "Only Safeguarding Leads" in reply, (sender, reply)
        assert "SG-" not in reply and "by worker" not in reply
    lead_view = joined(stack.post(LEAD_SENDER, "/list_open_concerns"))
    assert "open concern(s)" in lead_view and "SG-" in lead_view  # the lead, authenticated


def test_a_workers_lead_update_is_refused_and_audited(stack: Stack) -> None:
    stack.post("terminal:sec-raiser-2", DANGER)
    reference = sorted(refs(stack))[0]
    reply = joined(stack.post("terminal:alex", f"update {reference}: spoke to MASH, referral made"))
    assert "Only Safeguarding Leads can add updates" in reply
    stack.post(LEAD_SENDER, "/list_open_concerns")
    entries = audit_entries(stack)
    refused = [e for e in entries if e.action == "refused" and e.person_id == "terminal:alex"]
    assert refused and refused[-1].concern_ref == reference and refused[-1].role == "worker"
    lead_reads = [e for e in entries if e.person_id == "alex" and e.action != "refused"]
    assert lead_reads, "the lead's list was audited as theirs"


# --------------------------------------------------------------------------- 5. limits


def test_an_oversize_request_gets_one_plain_line_with_999(stack: Stack) -> None:
    from bot.core.limits import MAX_BODY_BYTES

    body = body_of("terminal:sec-big", "x" * (MAX_BODY_BYTES + 10))
    status, answer = raw_post(rest_url(stack), body, channel_auth.sign(stack.channel_secret, body))
    assert status == 413
    assert "999" in answer["error"] and "\n" not in answer["error"]


def test_a_flood_from_one_sender_is_held_back_but_never_its_danger(stack: Stack) -> None:
    for _ in range(BURST):
        assert stack.post("terminal:sec-flood", "hiya")
    (held,) = stack.post("terminal:sec-flood", "hiya")
    assert "faster than I can take" in held["text"] and "999" in held["text"]
    assert "Safeguarding Lead" in held["text"] or "07" in held["text"]  # the numbers
    # Everyone else is still answered.
    assert "faster" not in joined(stack.post("terminal:sec-calm", "hiya"))
    # Danger from the flooded sender still gets 999 first and a page.
    before = refs(stack)
    replies = stack.post("terminal:sec-flood", DANGER)
    assert "999" in texts(replies)[0]
    assert len(refs(stack) - before) == 1


# --------------------------------------------------------------------------- no listener


class FakeRequest:
    def __init__(self, ip: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.ip, self.body, self.headers = ip, body, headers or {}


def test_unsigned_rest_is_for_development_on_loopback_and_never_a_lead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sanic.response import HTTPResponse

    from bot.rasa.channels.rest import SafeRestInput

    body = body_of("alex", "hi")
    assert isinstance(SafeRestInput()._sender(FakeRequest("127.0.0.1", body), "alex"), HTTPResponse)
    monkeypatch.setenv("SAFEGUARD_DEV_REST", "1")
    channel = SafeRestInput()
    assert channel._sender(FakeRequest("127.0.0.1", body), "alex") == "dev:alex"
    refused = channel._sender(FakeRequest("10.0.0.9", body), "alex")
    assert isinstance(refused, HTTPResponse) and refused.status == 401
    for name in ("alex", LEAD_SENDER, str(LEAD)):
        assert worker_for(channel._sender(FakeRequest("::1", body), name)).role == "worker"


def test_serve_will_not_open_unsigned_rest_off_loopback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.commands.cli import main

    monkeypatch.setenv("SAFEGUARD_DEV_REST", "1")
    assert main(["serve", "--host", "0.0.0.0"]) == 1  # noqa: S104 - refused, nothing bound
    assert "loopback only" in capsys.readouterr().err


def test_teams_identity_is_the_entra_id_in_the_roster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.core import rota

    aad = "0f8c2b1e-1111-4222-8333-944455566677"
    data = yaml.safe_load(ROSTER.read_text())
    data["people"][0]["teams_aad_id"] = aad.upper()  # Alex, a lead
    path = tmp_path / "roster.yml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(path))
    assert worker_for(f"teams:{aad}").role == "lead"
    for sender in ("teams:29:alex", "teams:alex", f"dev:teams:{aad}", "alex"):
        assert worker_for(sender).role == "worker", sender
    data["people"][0]["teams_aad_id"] = "alex"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="Entra object id"):
        rota.load_roster(path)


def test_the_gateway_holds_back_a_flood_but_never_danger(
    fake: Any,  # noqa: F811
    rasa: FakeRasa,  # noqa: F811
    world: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFEGUARD_RATE_BURST", "2")
    monkeypatch.setenv("SAFEGUARD_RATE_PER_MINUTE", "0.001")
    rasa.replies = [{"text": "ok"}]
    messages = [fake.user_says(WORKER, f"message {n}") for n in range(3)]
    run(
        fake,
        world,
        say(*messages, fake.user_says(WORKER, DANGER), fake.user_says(LEAD, "hello")),
        rasa.url,
    )
    assert [(b["sender"], b["message"]) for b in rasa.bodies] == [
        (f"telegram:{WORKER}", "message 0"),
        (f"telegram:{WORKER}", "message 1"),
        (f"telegram:{WORKER}", DANGER),
        (LEAD_SENDER, "hello"),
    ]
    held = [m["text"] for m in fake.messages_to(WORKER) if "faster than I can" in m["text"]]
    assert len(held) == 1 and "999" in held[0]


def test_the_gateway_signs_what_it_sends(
    fake: Any,  # noqa: F811
    rasa: FakeRasa,  # noqa: F811
    world: dict[str, Any],  # noqa: F811
) -> None:
    from bot.config.secrets import CHANNEL_SECRET, shared_secret

    run(fake, world, say(fake.user_says(WORKER, "hello")), rasa.url)
    (request,) = rasa.http.requests
    verifier = channel_auth.Verifier(shared_secret(CHANNEL_SECRET))
    assert verifier.problem(request.headers, request.body) is None
    assert verifier.problem(request.headers, request.body) == "replayed"


def test_only_a_lead_can_acknowledge_a_page_and_a_refusal_is_audited(
    fake: Any,  # noqa: F811
    rasa: FakeRasa,  # noqa: F811
    world: dict[str, Any],  # noqa: F811
) -> None:
    from bot.records.audit import AuditTrail

    page_id, token = make_page(world)
    run(
        fake,
        world,
        say(fake.press(WORKER, f"ack:{token}"), fake.user_says(WORKER, f"/ack {page_id}")),
        rasa.url,
    )
    assert "Only a Safeguarding Lead" in fake.answered()[0].get("text", "")
    assert page_status(world, page_id) != "acknowledged"
    refused = [
        e.detail
        for e in AuditTrail(world["url"]).entries()
        if e.action == "refused" and e.person_id == str(WORKER)
    ]
    assert refused == ["acknowledge a page", "chat command /ack"]


def test_the_nonce_cache_and_window_without_a_server() -> None:
    verifier = channel_auth.Verifier("s" * 32, window=60)
    body = b'{"sender": "terminal:x", "message": "hi"}'
    headers = channel_auth.sign("s" * 32, body, now=1000)
    assert verifier.problem(headers, body, now=1030) is None
    assert verifier.problem(headers, body, now=1031) == "replayed"
    assert verifier.problem(headers, body, now=1061) == "timestamp outside the window"
    assert verifier.problem({}, body) == "unsigned"


def test_the_shared_secrets_are_private_files_every_process_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    from bot.config import secrets

    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    for name in (secrets.CHANNEL_SECRET, secrets.ACTION_SECRET):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    assert secrets.shared_secret(secrets.CHANNEL_SECRET, create=False) == ""
    value = secrets.shared_secret(secrets.CHANNEL_SECRET)
    path = secrets.default_secret_path(secrets.CHANNEL_SECRET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secrets.shared_secret(secrets.CHANNEL_SECRET) == value  # made once, then read
    env: dict[str, str] = {}
    secrets.hand_to_children(env)
    assert env == {
        f"{secrets.CHANNEL_SECRET}_FILE": str(path),
        f"{secrets.ACTION_SECRET}_FILE": str(secrets.default_secret_path(secrets.ACTION_SECRET)),
    }
    assert value not in json.dumps(env)  # names of files, never the values
    path.chmod(0o644)
    with pytest.raises(secrets.SecretError, match="chmod 600"):
        secrets.shared_secret(secrets.CHANNEL_SECRET)
    monkeypatch.setenv(secrets.ACTION_SECRET, "short")
    with pytest.raises(secrets.SecretError, match="too short"):
        secrets.shared_secret(secrets.ACTION_SECRET)


def test_serve_prints_what_protects_each_listener_off_loopback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`safeguard serve --host 0.0.0.0 --actions-host 0.0.0.0`: one line per listener (the
    processes are stood in for; what they were asked to bind is checked too)."""
    from bot.commands import serve

    started: dict[str, list[str]] = {}

    class Exited:
        def poll(self) -> int:
            return 0

    def start(self, name: str, cmd: list[str], **_kw: Any) -> Exited:  # noqa: ANN001
        started[name] = cmd
        self.children[name] = Exited()
        return Exited()

    monkeypatch.setattr(serve, "ready_to_start", lambda *_a: True)
    monkeypatch.setattr(processes.ProcessGroup, "start", start)
    monkeypatch.setattr(processes.ProcessGroup, "stop", lambda self, grace=10.0: None)
    def sigterm(*_a: Any, **_k: Any) -> bool:
        raise processes.Stop()  # as SIGTERM would: serve restarts parts that exit

    monkeypatch.setattr(processes, "wait_for_http", sigterm)
    monkeypatch.setattr(processes, "raise_stop_on_sigterm", lambda: None)
    monkeypatch.delenv("SAFEGUARD_DEV_REST", raising=False)
    from bot.commands.cli import main

    main(["serve", "--host", "0.0.0.0", "--actions-host", "0.0.0.0"])  # noqa: S104
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "not loopback" in line]
    assert len(lines) == 2 and "signed" in lines[0] and "action secret" in lines[1]
    rasa_cmd = started["rasa server"]
    assert rasa_cmd[rasa_cmd.index("--interface") + 1] == "0.0.0.0"
    assert started["action server"][-2:] == ["--host", "0.0.0.0"]
    main(["serve"])
    assert "not loopback" not in capsys.readouterr().out
    assert started["action server"][-2:] == ["--host", "127.0.0.1"]
