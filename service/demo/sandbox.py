"""The demo's offline sandbox API: an OAuth2 client_credentials token endpoint and a recommendations
endpoint that wants its tokens. Mounted only when `settings.sandbox` is true (the embedded demo), so the
demo's `recommendations` experience shows a real connection call with no network beyond this process."""

from __future__ import annotations

import base64
import contextlib
import hmac
import secrets
import time
from collections import deque
from urllib.parse import parse_qsl

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..http.errors import ApiError, Dialect
from ..http.routing import Example, RouteSpec, status
from ..runtime import Runtime

CATALOG = {
    "gold": [{"sku": "LUX-01", "name": "Cashmere scarf"}, {"sku": "LUX-07", "name": "Leather weekender"}],
    "silver": [{"sku": "MID-12", "name": "Merino sweater"}, {"sku": "MID-03", "name": "Canvas tote"}],
    "none": [{"sku": "NEW-01", "name": "Starter socks"}, {"sku": "NEW-02", "name": "Cotton tee"}],
}
TOKEN_LIFETIME = 300
WEBHOOKS_KEPT = 100


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


class Sandbox:
    def __init__(self, client_id: str, client_secret: str, webhook_secrets: tuple[str, ...] = ()) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.tokens: dict[str, float] = {}
        self.webhook_secrets = webhook_secrets
        self.received: deque[dict[str, object]] = deque(maxlen=WEBHOOKS_KEPT)

    async def webhook(self, scope: Scope, receive: Receive) -> Response:
        """A receiver as the README's delivery contract asks for one: it verifies the Standard Webhooks
        signature (the library's check, timestamp within 5 minutes included) and keeps what arrived."""
        request = Request(scope, receive)
        body = await request.body()
        headers = dict(request.headers)
        verified = False
        for secret in self.webhook_secrets:
            with contextlib.suppress(WebhookVerificationError, ValueError):
                Webhook(secret).verify(body, headers, json_parse=False)
                verified = True
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
        self.received.appendleft({"webhookId": headers.get("webhook-id"), "verified": verified, "payload": payload})
        if not verified:
            raise ApiError(401, "the webhook signature does not verify (or is missing)", "webhook-signature")
        return _json({"received": True})

    async def webhooks(self, scope: Scope, receive: Receive) -> Response:
        """What the receiver got, newest first."""
        return _json(list(self.received))

    def _credentials(self, request: Request, form: dict[str, str]) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode(errors="replace").partition(":")
            return user, password
        return form.get("client_id", ""), form.get("client_secret", "")

    async def token(self, scope: Scope, receive: Receive) -> Response:
        request = Request(scope, receive)
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        if form.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type"}, 400)
        user, password = self._credentials(request, form)
        if not (hmac.compare_digest(user, self.client_id) and hmac.compare_digest(password, self.client_secret)):
            return _json({"error": "invalid_client", "error_description": "unknown client or wrong secret"}, 401)
        now = time.monotonic()
        self.tokens = {t: exp for t, exp in self.tokens.items() if exp > now}
        token = secrets.token_urlsafe(24)
        self.tokens[token] = now + TOKEN_LIFETIME
        return _json({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME})

    async def recommendations(self, scope: Scope, receive: Receive) -> Response:
        request = Request(scope, receive)
        header = request.headers.get("authorization", "")
        expiry = self.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if expiry is None or expiry < time.monotonic():
            return _json({"error": "invalid_token"}, 401)
        tier = request.query_params.get("tier", "none")
        return _json({"tier": tier, "items": CATALOG.get(tier, CATALOG["none"])})


def _enabled(runtime: Runtime) -> bool:
    return runtime.sandbox_secret is not None


SANDBOX_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        "POST",
        "/sandbox/oauth/token",
        Sandbox,
        Sandbox.token,
        "Demo sandbox: client_credentials token",
        "Demo sandbox",
        Dialect.STREAM,
        statuses=(400, 401),
        enabled=_enabled,
        examples=lambda f: [
            Example(
                "Sandbox token",
                "/sandbox/oauth/token",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                tests=(status(400),),
            )
        ],
    ),
    RouteSpec(
        "GET",
        "/sandbox/recommendations",
        Sandbox,
        Sandbox.recommendations,
        "Demo sandbox: recommendations (Bearer token)",
        "Demo sandbox",
        Dialect.STREAM,
        query=(("tier", "Loyalty tier"),),
        statuses=(401,),
        enabled=_enabled,
        examples=lambda f: [
            Example(
                "Sandbox recommendations without a token: 401",
                "/sandbox/recommendations?tier=gold",
                tests=(status(401),),
            )
        ],
    ),
    RouteSpec(
        "POST",
        "/sandbox/webhooks",
        Sandbox,
        Sandbox.webhook,
        "Demo sandbox: a webhook receiver that verifies signatures",
        "Demo sandbox",
        Dialect.STREAM,
        statuses=(401,),
        enabled=_enabled,
        examples=lambda f: [
            Example("Sandbox webhook without a signature: 401", "/sandbox/webhooks", body={}, tests=(status(401),))
        ],
    ),
    RouteSpec(
        "GET",
        "/sandbox/webhooks",
        Sandbox,
        Sandbox.webhooks,
        "Demo sandbox: what the webhook receiver got, newest first",
        "Demo sandbox",
        Dialect.STREAM,
        enabled=_enabled,
        examples=lambda f: [Example("Sandbox webhooks received", "/sandbox/webhooks")],
    ),
)
