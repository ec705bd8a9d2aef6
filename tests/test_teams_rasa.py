"""Teams for real: a Rasa server with the trained model (models/safeguard.tar.gz, built by
`make test` before pytest) and the action server, listening on the Teams channel, driven with
recorded Activity payloads signed by a fake Bot Connector, replying to a fake conversation
service and getting its token from a fake token endpoint, all on loopback."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port
from tests.fake_teams import APP_ID, APP_PASSWORD, TENANT, FakeTeams, reply_texts

MODEL = ROOT / "models" / "safeguard.tar.gz"
pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def fake():  # noqa: ANN201
    with FakeTeams() as server:
        yield server


@pytest.fixture(scope="module")
def server(fake: FakeTeams, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from bot.commands import processes
    from bot.rasa.channels import teams

    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    var = tmp_path_factory.mktemp("teams-var")
    port, actions_port = free_port(), free_port()
    credentials = var / "credentials.yml"
    credentials.write_text(
        f'bot.rasa.channels.teams.TeamsInput:\n  app_id: "{APP_ID}"\n  tenant_id: "{TENANT}"\n',
        encoding="utf-8",
    )
    password = var / "teams-password"
    password.write_text(APP_PASSWORD, encoding="utf-8")
    password.chmod(0o600)
    env = processes.child_env()
    env.update(
        {
            "SAFEGUARD_VAR": str(var),
            "SAFEGUARD_DB_URL": f"sqlite:///{var / 'concerns.sqlite3'}",
            "SAFEGUARD_ORG": "crasac",
            "TEAMS_APP_PASSWORD_FILE": str(password),
            teams.TEST_OPENID_ENV: fake.openid_url,
            teams.TEST_TOKEN_ENV: fake.token_url,
        }
    )
    env.pop("TEAMS_APP_PASSWORD", None)
    log = (var / "rasa.log").open("w")
    group = processes.ProcessGroup()
    try:
        actions = group.start(
            "actions", processes.action_server_cmd(actions_port), env=env, stdout=log, stderr=log
        )
        endpoints = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
        endpoints_path = var / "endpoints.yml"
        endpoints_path.write_text(endpoints.replace("127.0.0.1:5055", f"127.0.0.1:{actions_port}"))
        rasa = group.start(
            "rasa",
            [
                # Rasa as `safeguard serve` runs it: its action calls carry the action secret.
                sys.executable,
                "-m",
                "bot.rasa.server",
                "run",
                "--model",
                str(MODEL),
                "--port",
                str(port),
                "--credentials",
                str(credentials),
                "--endpoints",
                str(endpoints_path),
            ],
            env=env,
            stdout=log,
            stderr=log,
        )
        ready = processes.wait_for_http(
            f"http://127.0.0.1:{actions_port}/health", 90, actions
        ) and processes.wait_for_http(f"http://127.0.0.1:{port}/webhooks/botframework/", 300, rasa)
        if not ready:
            log.flush()
            pytest.fail("Rasa with the Teams channel did not start:\n" + _tail(var / "rasa.log"))
        yield {"port": port, "var": var, "env": env}
    finally:
        group.stop()
        log.close()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def post(port: int, activity: dict[str, Any], auth: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/botframework/webhook",
        data=json.dumps(activity).encode(),
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (loopback)
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def conversation(fake: FakeTeams, text: str | None, name: str = "message_personal") -> dict:
    """A recorded Activity in a conversation of its own (so its replies can be told apart)."""
    activity = fake.activity(text, name=name)
    activity["conversation"]["id"] = f"a:{uuid.uuid4().hex}"
    activity["from"]["id"] = f"29:{uuid.uuid4().hex}"
    # Rasa's conversation is the person's (their Entra object id): a new person each time.
    activity["from"]["aadObjectId"] = str(uuid.uuid4())
    return activity


def replies_to(fake: FakeTeams, activity: dict, quiet: float = 4.0, limit: float = 120.0):
    """Every reply posted to the Activity's conversation, once the bot has gone quiet."""

    def mine() -> list[dict]:
        return fake.replies_in(activity["conversation"]["id"])

    deadline = time.monotonic() + limit
    assert fake.http.wait_for(lambda _: bool(mine()), timeout=limit), "no reply posted"
    count, since = len(mine()), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.2)
        if len(mine()) != count:
            count, since = len(mine()), time.monotonic()
    return mine()


def send(server: dict, fake: FakeTeams, activity: dict) -> list[dict]:
    assert post(server["port"], activity, f"Bearer {fake.token()}") == 200
    return replies_to(fake, activity)


def test_a_greeting_gets_the_menu_as_a_hero_card_with_buttons_that_work(
    server: dict, fake: FakeTeams
) -> None:
    hello = conversation(fake, None)  # the recorded "hiya"
    replies = send(server, fake, hello)
    assert "999" in "\n".join(reply_texts(replies))
    cards = [a for r in replies for a in r.get("attachments") or []]
    assert cards, "the help menu comes as a card"
    [card] = [c for c in cards if c["contentType"] == "application/vnd.microsoft.card.hero"]
    buttons = card["content"]["buttons"]
    assert buttons and all(b["type"] == "messageBack" for b in buttons)
    assert all(b["text"].startswith("/") and b["displayText"] == b["title"] for b in buttons)
    for reply in replies:
        assert reply["recipient"]["id"] == hello["from"]["id"]
        assert reply["replyToId"] == hello["id"]

    # Press the first button: Teams sends its text (the payload) and value back.
    pressed = fake.activity(name="message_back_button")
    pressed["conversation"] = hello["conversation"]
    pressed["from"] = hello["from"]
    pressed["text"] = buttons[0]["text"]
    pressed["value"] = buttons[0]["value"]
    before = len(replies)
    after = send(server, fake, pressed)
    assert len(after) > before
    assert "could not do that" not in "\n".join(reply_texts(after[before:]))


def test_a_question_in_private_is_answered_from_the_guidance(server: dict, fake: FakeTeams) -> None:
    question = conversation(fake, "<at>Safeguard</at> can i promise her i wont tell anyone")
    reply = " ".join(reply_texts(send(server, fake, question))).lower()
    assert "secret" in reply or "promise" in reply


def test_a_team_channel_is_sent_to_a_private_chat(server: dict, fake: FakeTeams) -> None:
    posted = conversation(fake, None, name="message_channel_mention")
    [reply] = send(server, fake, posted)
    assert reply["text"].startswith("I only talk in a private chat")


def test_danger_gets_999_first_and_the_lead_is_paged(server: dict, fake: FakeTeams) -> None:
    from bot.paging import pager
    from bot.records.db import make_engine

    danger = conversation(fake, "hes outside the centre with a knife now")
    texts = reply_texts(send(server, fake, danger))
    assert "999" in texts[0]
    engine = make_engine(server["env"]["SAFEGUARD_DB_URL"])
    rows = pager.page_rows(engine)
    engine.dispose()
    assert rows and all(r["urgency"] == "immediate" for r in rows)
    assert "knife" not in str(rows)


def test_a_message_over_the_limit_is_refused_with_999(server: dict, fake: FakeTeams) -> None:
    long = conversation(fake, "he said " * 2000)
    joined = "\n".join(reply_texts(send(server, fake, long)))
    assert "too long" in joined and "999" in joined


def test_an_unsigned_or_forged_request_is_refused(server: dict, fake: FakeTeams) -> None:
    activity = conversation(fake, "hello")
    assert post(server["port"], activity, None) == 401
    assert post(server["port"], activity, f"Bearer {fake.token(forged=True)}") == 401
    path = f"/uk/v3/conversations/{activity['conversation']['id']}/activities"
    assert path not in fake.reply_paths


def test_nothing_typed_reaches_the_log(server: dict) -> None:
    log = (server["var"] / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "knife" not in log
    assert APP_PASSWORD not in log
