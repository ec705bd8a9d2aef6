"""Fake Microsoft endpoints on loopback for the Teams channel: the Bot Connector's OpenID
metadata and signing keys, the OAuth2 token endpoint, and a conversation service that
records every reply Activity.

`FakeTeams` signs incoming-Activity tokens with its own RSA key (published in its JWKS, as
Microsoft does), so the channel's real token checks run against it. Recorded Activity
payloads (what a Teams client sends, captured shapes) live in tests/data/teams/.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fake_http import FakeHTTPServer, Recorded

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"
APP_PASSWORD = "fake-client-secret-do-not-log"
ACCESS_TOKEN = "fake-access-token-for-replies"
TENANT = "b7a1c0de-1111-4222-8333-944455556666"
ISSUER = "https://api.botframework.com"
DATA = Path(__file__).resolve().parent / "data" / "teams"
KID = "fake-key-1"


def recorded(name: str) -> dict[str, Any]:
    """One of the recorded Activity payloads (a fresh copy)."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeTeams:
    """`with FakeTeams() as teams: ... teams.openid_url, teams.token_url, teams.service_url`."""

    def __init__(self, endorsements: list[str] | None = None) -> None:
        self.key = _private_key()
        self.other_key = _private_key()  # signs forged tokens (not in the JWKS)
        self.endorsements = (
            ["msteams", "webchat", "emulator"] if endorsements is None else endorsements
        )
        self.token_requests: list[dict[str, str]] = []
        self.key_fetches = 0
        self.posted: list[tuple[str, dict[str, Any]]] = []  # (path, reply Activity)
        self.reply_auth: list[str] = []
        self._ids = itertools.count(1)
        self._activity_ids = itertools.count(1)
        self.http = FakeHTTPServer(responder=self._respond)

    @property
    def replies(self) -> list[dict[str, Any]]:
        return [reply for _, reply in list(self.posted)]

    @property
    def reply_paths(self) -> list[str]:
        return [path for path, _ in list(self.posted)]

    def replies_in(self, conversation_id: str) -> list[dict[str, Any]]:
        path = f"/uk/v3/conversations/{conversation_id}/activities"
        return [reply for where, reply in list(self.posted) if where == path]

    # ------------------------------------------------------------------ endpoints

    @property
    def openid_url(self) -> str:
        return f"{self.http.url}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.http.url}/{TENANT}/oauth2/v2.0/token"

    @property
    def service_url(self) -> str:
        return f"{self.http.url}/uk/"

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "use": "sig", "endorsements": self.endorsements})
        return {"keys": [jwk]}

    def _respond(self, record: Recorded) -> tuple[int, Any]:
        path = record.path.split("?")[0]
        if path.endswith("/.well-known/openidconfiguration"):
            return 200, {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.http.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        if path.endswith("/.well-known/keys"):
            self.key_fetches += 1
            return 200, self.jwks()
        if path.endswith("/oauth2/v2.0/token"):
            self.token_requests.append(dict(record.form))
            if record.form.get("client_secret") != APP_PASSWORD:
                return 401, {"error": "invalid_client"}
            return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS_TOKEN}
        if "/v3/conversations/" in path and path.endswith("/activities"):
            self.reply_auth.append(record.headers.get("authorization", ""))
            if record.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
                return 401, {"error": {"code": "Unauthorized"}}
            self.posted.append((path, record.json))
            return 201, {"id": f"reply-{next(self._ids)}"}
        return 404, {"error": "not found"}

    # ------------------------------------------------------------------ inbound

    def token(
        self,
        service_url: str | None = None,
        audience: str = APP_ID,
        issuer: str = ISSUER,
        lifetime: int = 3600,
        issued: float | None = None,
        forged: bool = False,
        kid: str = KID,
        algorithm: str = "RS256",
    ) -> str:
        """A bearer token as the Bot Connector would send with an Activity."""
        now = time.time() if issued is None else issued
        claims = {
            "serviceurl": service_url or self.service_url,
            "nbf": int(now) - 5,
            "exp": int(now) + lifetime,
            "iss": issuer,
            "aud": audience,
        }
        key = self.other_key if forged else self.key
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    def activity(self, text: str | None = None, name: str = "message_personal", **changes: Any):
        """A recorded Activity pointed at this fake service, with fresh ids and `text`."""
        activity = copy.deepcopy(recorded(name))
        activity["serviceUrl"] = self.service_url
        activity["id"] = f"{int(time.time() * 1000)}{next(self._activity_ids):04d}"
        if text is not None:
            activity["text"] = text
            activity.pop("attachments", None)
        activity.update(changes)
        return activity

    def wait_for_replies(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        self.http.wait_for(
            lambda requests: sum("/activities" in r.path for r in requests) >= count, timeout
        )
        return list(self.replies)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeTeams:
        self.http.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.http.stop()


def reply_texts(replies: list[dict[str, Any]]) -> list[str]:
    """Each reply's visible text (plain text, or a hero card's text)."""
    out = []
    for reply in replies:
        text = reply.get("text") or ""
        for attachment in reply.get("attachments") or []:
            text += (attachment.get("content") or {}).get("text") or ""
        out.append(text)
    return out
