"""A fake Telegram Bot API server on loopback, for python-telegram-bot pointed at it.

`TelegramBot(token, base_url=server.base_url)` talks to this instead of api.telegram.org.
It answers getMe, sendMessage, answerCallbackQuery, getUpdates (from an injectable queue,
with Telegram's offset semantics: an update is returned until a later call's offset confirms
it; an empty queue is long-polled for up to `max_poll_wait` seconds), setWebhook and
deleteWebhook, and records every call with its parameters decoded (PTB sends form fields
whose values are JSON, e.g. reply_markup). `press_button(...)` builds the Update a button
press would bring; `user_says(...)` the Update of a typed message. `fail_method(...)`
scripts errors for one method: an outage (502), flood control (429 with
parameters.retry_after) or a bad token (401).
"""

from __future__ import annotations

import itertools
import json
import threading
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
        self.max_poll_wait = 0.2
        self.webhook: dict[str, Any] | None = None
        self._scripted: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._cond = threading.Condition()
        self.http = FakeHTTPServer(responder=self._respond)

    def fail_method(
        self, method: str, count: int = 1, status: int = 502, retry_after: int | None = None
    ) -> None:
        """The next `count` calls of `method` fail with `status` (429 + retry_after: flood
        control as Telegram sends it, in parameters.retry_after)."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": "scripted"}
        if retry_after is not None:
            body["description"] = f"Too Many Requests: retry after {retry_after}"
            body["parameters"] = {"retry_after": retry_after}
        with self._cond:
            self._scripted.setdefault(method, []).extend([(status, body)] * count)

    def _scripted_failure(self, method: str) -> tuple[int, dict[str, Any]] | None:
        with self._cond:
            queue = self._scripted.get(method)
            return queue.pop(0) if queue else None

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
        with self._cond:
            self.calls.append((method, params))
            self._cond.notify_all()
        failure = self._scripted_failure(method)
        if failure is not None:
            return failure
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
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method == "setWebhook":
            self.webhook = params
            return 200, {"ok": True, "result": True}
        if method == "deleteWebhook":
            self.webhook = None
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
        with self._cond:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            self._cond.wait_for(lambda: bool(self.updates), timeout=wait)
            return list(self.updates)

    # ------------------------------------------------------------------ helpers for tests

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            self.updates.append(update)
            self._cond.notify_all()
        return update

    def user_says(
        self,
        user_id: int,
        text: str | None,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Queue (and return) the Update of `user_id` typing `text` (None: a photo)."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        chat = {"id": chat_id or user_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "A group"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
        }
        if text is None:
            message["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
        else:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.queue({"update_id": next(self._update_ids), "message": message})

    def press(self, user_id: int, data: str, chat_id: int | None = None) -> dict[str, Any]:
        """Queue (and return) the Update of `user_id` pressing a button carrying `data`."""
        chat = chat_id or user_id
        return self.queue(
            {
                "update_id": next(self._update_ids),
                "callback_query": {
                    "id": f"cbq-{chat}-{next(self._message_ids)}",
                    "from": {"id": user_id, "is_bot": False, "first_name": "Test"},
                    "chat_instance": "fake",
                    "data": data,
                    "message": {
                        "message_id": 1,
                        "date": int(time.time()),
                        "chat": {"id": chat, "type": "private"},
                        "text": "buttons",
                    },
                },
            }
        )

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent_messages() if int(m["chat_id"]) == chat_id]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def wait_until(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Block until `predicate(self)` holds (event-driven, not a timing assertion)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout=timeout)

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
        return self.queue(update)

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> bool:
        return self.http.wait_for(lambda _r: len(self.sent_messages()) >= count, timeout)

    def __enter__(self) -> FakeTelegram:
        self.http.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.http.stop()
