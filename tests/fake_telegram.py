"""A fake Telegram Bot API server on loopback, for python-telegram-bot pointed at it.

`TelegramBot(token, base_url=server.base_url)` talks to this instead of api.telegram.org.
It answers getMe, sendMessage, answerCallbackQuery, getUpdates (from an injectable queue)
and records every call with its parameters decoded (PTB sends form fields whose values are
JSON, e.g. reply_markup). `press_button(...)` builds the Update a button press would bring.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.fake_http import FakeHTTPServer, Recorded

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "SafeguardTest", "username": "sg_test_bot"}


def _decode(record: Recorded) -> dict[str, Any]:
    fields: dict[str, Any] = dict(record.json or {}) if isinstance(record.json, dict) else {}
    for key, value in record.form.items():
        try:
            fields[key] = json.loads(value)
        except ValueError:
            fields[key] = value
    return fields


class FakeTelegram:
    """`with FakeTelegram("123:abc") as tg: ... tg.base_url ... tg.sent_messages()`."""

    def __init__(self, token: str = "123456:TEST-TOKEN") -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self.fail_chats: set[int] = set()
        self.http = FakeHTTPServer(responder=self._respond)

    @property
    def base_url(self) -> str:
        """What to pass as python-telegram-bot's base_url (the token is appended)."""
        return f"{self.http.url}/bot"

    def _respond(self, record: Recorded) -> tuple[int, Any]:
        prefix = f"/bot{self.token}/"
        if not record.path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = record.path[len(prefix) :].split("?")[0]
        params = _decode(record)
        self.calls.append((method, params))
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            if chat_id in self.fail_chats:
                return 400, {"ok": False, "error_code": 400, "description": "chat not found"}
            return 200, {
                "ok": True,
                "result": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "text": params.get("text", ""),
                },
            }
        if method == "answerCallbackQuery":
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            pending, self.updates = self.updates, []
            return 200, {"ok": True, "result": pending}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    # ------------------------------------------------------------------ helpers for tests

    def sent_messages(self) -> list[dict[str, Any]]:
        return [params for method, params in self.calls if method == "sendMessage"]

    def answered(self) -> list[dict[str, Any]]:
        return [params for method, params in self.calls if method == "answerCallbackQuery"]

    def press_button(self, message: dict[str, Any], user_id: int | None = None) -> dict[str, Any]:
        """The Update a press of the first inline button on `message` would deliver."""
        markup = message["reply_markup"]
        if isinstance(markup, str):
            markup = json.loads(markup)
        data = markup["inline_keyboard"][0][0]["callback_data"]
        chat_id = int(message["chat_id"])
        update = {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cbq-{chat_id}-{len(self.calls)}",
                "from": {"id": user_id or chat_id, "is_bot": False, "first_name": "Lead"},
                "chat_instance": "fake",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "text": message.get("text", ""),
                },
            },
        }
        self.updates.append(update)
        return update

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> bool:
        return self.http.wait_for(lambda _r: len(self.sent_messages()) >= count, timeout)

    def __enter__(self) -> FakeTelegram:
        self.http.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.http.stop()
