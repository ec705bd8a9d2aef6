"""bot.clients.rasa_client against a fake Rasa REST server on loopback."""

from __future__ import annotations

import asyncio
import socket
import zlib

import pytest

from bot.clients.rasa_client import (
    DEFAULT_URL,
    RasaClient,
    RasaUnavailable,
    server_index,
    urls_from_env,
)
from tests.conftest import free_port
from tests.fake_http import FakeHTTPServer


def echo(record):  # noqa: ANN001, ANN201
    body = record.json
    return 200, [{"recipient_id": body["sender"], "text": f"got {body['message']}"}]


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


async def send_once(client: RasaClient, sender: str, message: str, metadata=None):  # noqa: ANN001, ANN201
    try:
        return await client.send(sender, message, metadata)
    finally:
        await client.close()


def test_posts_sender_message_and_metadata_to_the_rest_webhook() -> None:
    with FakeHTTPServer(responder=echo) as rasa:
        client = RasaClient([rasa.url], timeout=5)
        replies = run(send_once(client, "tg-7", "hello", {"role": "worker"}))
    assert replies == [{"recipient_id": "tg-7", "text": "got hello"}]
    (request,) = rasa.requests
    assert request.method == "POST"
    assert request.path == "/webhooks/rest/webhook"
    assert request.json == {"sender": "tg-7", "message": "hello", "metadata": {"role": "worker"}}


def test_sticky_by_sender_is_crc32_modulo_and_stable() -> None:
    urls = ["http://a:1", "http://b:2", "http://c:3"]
    client = RasaClient(urls, timeout=1)
    for sender in ("tg-1", "tg-2", "tg-99999", "worker-x", "ünïcode"):
        expected = urls[zlib.crc32(sender.encode()) % 3]
        assert client.server_for(sender) == expected
        assert all(client.server_for(sender) == expected for _ in range(5))
    # different senders do spread over the servers
    assert len({client.server_for(f"tg-{i}") for i in range(50)}) == 3
    assert server_index("x", 1) == 0
    with pytest.raises(ValueError):
        server_index("x", 0)


def test_one_conversation_always_reaches_one_of_two_servers() -> None:
    with FakeHTTPServer(responder=echo) as one, FakeHTTPServer(responder=echo) as two:
        client = RasaClient([one.url, two.url], timeout=5)

        async def chat() -> None:
            try:
                for sender in ("alice", "bob", "carol", "dave"):
                    for n in range(3):
                        await client.send(sender, f"m{n}")
            finally:
                await client.close()

        run(chat())
        seen = {}
        for server in (one, two):
            for request in server.requests:
                seen.setdefault(request.json["sender"], set()).add(server.url)
    assert all(len(servers) == 1 for servers in seen.values())
    assert sum(len(s.requests) for s in (one, two)) == 12


def test_urls_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFEGUARD_RASA_URLS", raising=False)
    assert urls_from_env() == [DEFAULT_URL]
    monkeypatch.setenv("SAFEGUARD_RASA_URLS", " http://h1:5005/ , http://h2:5006 ,")
    assert urls_from_env() == ["http://h1:5005", "http://h2:5006"]
    assert RasaClient(timeout=1).urls == ["http://h1:5005", "http://h2:5006"]
    with pytest.raises(ValueError, match="not an http"):
        urls_from_env("h1:5005")


def test_connection_refused_is_rasa_unavailable() -> None:
    port = free_port()  # nothing listens there
    client = RasaClient([f"http://127.0.0.1:{port}"], timeout=5)
    with pytest.raises(RasaUnavailable, match="unreachable"):
        run(send_once(client, "tg-1", "hi"))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_rasa_unavailable(status: int) -> None:
    with FakeHTTPServer(default_status=status) as rasa:
        client = RasaClient([rasa.url], timeout=5)
        with pytest.raises(RasaUnavailable, match=f"HTTP {status}"):
            run(send_once(client, "tg-1", "hi"))


def test_a_reply_that_is_not_a_list_is_rasa_unavailable() -> None:
    with FakeHTTPServer(responder=lambda r: (200, {"error": "x"})) as rasa:
        client = RasaClient([rasa.url], timeout=5)
        with pytest.raises(RasaUnavailable, match="unexpected"):
            run(send_once(client, "tg-1", "hi"))


def test_timeout_is_rasa_unavailable() -> None:
    # A server that accepts the connection and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        client = RasaClient([f"http://127.0.0.1:{port}"], timeout=0.3)
        with pytest.raises(RasaUnavailable, match="did not answer"):
            run(send_once(client, "tg-1", "hi"))
    finally:
        listener.close()


def test_the_message_text_is_not_in_the_error() -> None:
    with FakeHTTPServer(default_status=500) as rasa:
        client = RasaClient([rasa.url], timeout=5)
        with pytest.raises(RasaUnavailable) as info:
            run(send_once(client, "tg-1", "he hit her with a belt"))
    assert "belt" not in str(info.value)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        RasaClient(["http://a:1"], timeout=0)
