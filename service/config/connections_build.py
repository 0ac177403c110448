"""Compile `connections` config into connections.Connection objects (templates, JSONPath, auth, TLS)."""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import certifi
import httpx

from connections import (
    Auth,
    AuthScheme,
    Connection,
    DeliveryPolicy,
    HeaderAuth,
    JsonTemplate,
    MappingError,
    NoAuth,
    OAuth2ClientCredentials,
    OutputMapping,
    Retries,
    TextTemplate,
    Timeouts,
    basic_header,
    secret_forms,
)

from . import schema

Issue = Callable[[str, str], None]
_SAFE_PATH = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$")
_SIGNING_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{16,}={0,2}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _tls(spec: schema.Tls | None) -> dict[str, Any]:
    """Client options for a TLS setting: one SSLContext (custom CA, client certificate), built at load;
    httpx refuses a CA path combined with a certificate, and wants the context anyway."""
    if spec is None or not (spec.cert or spec.ca_bundle):
        return {}
    context = ssl.create_default_context(cafile=spec.ca_bundle or certifi.where())
    if spec.cert:
        context.load_cert_chain(spec.cert, spec.key)
    return {"verify": context}


def _auth(spec: Any, token_tls: Mapping[str, Any]) -> tuple[Auth, list[str]]:
    """The auth strategy of a connection, and every secret value it holds (to redact wherever shown)."""
    if isinstance(spec, schema.BasicAuth):
        basic = HeaderAuth.basic(spec.username, spec.password.get_secret_value())
        encoded = basic.headers["authorization"].split(" ", 1)[1]
        return basic, [spec.password.get_secret_value(), encoded]
    if isinstance(spec, schema.HeaderAuth):
        headers = {k.lower(): v.get_secret_value() for k, v in spec.headers.items()}
        return HeaderAuth(AuthScheme.HEADER, headers), list(headers.values())
    if isinstance(spec, schema.OAuth2ClientCredentials):
        secret = spec.client_secret.get_secret_value()
        echoed_basic = basic_header(spec.client_id, secret)["Authorization"].split(" ", 1)[1]
        oauth = OAuth2ClientCredentials(
            token_url=spec.token_url,
            client_id=spec.client_id,
            client_secret=secret,
            scope=spec.scope,
            audience=spec.audience,
            credentials_in=spec.credentials_in,
            form_items=dict(spec.form_items),
            headers=dict(spec.headers),
            default_lifetime=spec.default_lifetime_s,
            leeway=spec.leeway_s,
            timeout=spec.timeout_ms / 1000,
            client_options=token_tls,
        )
        return oauth, [secret, echoed_basic]
    return NoAuth(), []


def build_connection(item: schema.Connection, issue: Issue) -> Connection | None:
    """A compiled connection, or None after reporting every problem through `issue`."""
    # Long on purpose: one pass over the spec that reports every bad field, then builds the Connection.
    failed = False

    def report(sub: str, message: str) -> None:
        nonlocal failed
        failed = True
        issue(sub, message)

    for where, tls in ((".tls", item.tls), (".auth.tls", getattr(item.auth, "tls", None))):
        for field_name in ("cert", "key", "ca_bundle"):
            file = getattr(tls, field_name, None) if tls is not None else None
            if file and not os.path.isfile(file):
                alias = {"ca_bundle": "caBundle"}.get(field_name, field_name)
                report(f"{where}.{alias}", f"no such file: {file}")
    path = TextTemplate.compile(item.path)
    literal = "".join(p for p in path.parts if isinstance(p, str))
    if item.path and not item.path.startswith("/"):
        report(".path", "starts with /")
    if not _SAFE_PATH.match(literal):
        report(".path", "its fixed parts hold characters that need encoding; encode them in the config")
    for name, value in item.headers.items():
        if not _HEADER_NAME.match(name):
            report(f".headers.{name}", "is not a valid header name")
        elif not value.isascii():
            report(f".headers.{name}", "holds characters outside ASCII, which HTTP header values cannot carry")
    form = None
    body = None
    if item.body is not None:
        if item.body_format == "form":
            if not isinstance(item.body, dict) or not all(isinstance(v, str) for v in item.body.values()):
                report(".body", "a form body is a mapping of field name -> text template")
            else:
                form = tuple((k, TextTemplate.compile(v)) for k, v in item.body.items())
        else:
            body = JsonTemplate.compile(item.body)
    signing = tuple(secret.get_secret_value() for secret in item.signing.secrets) if item.signing else ()
    for i, secret in enumerate(signing):
        if not _SIGNING_SECRET.match(secret):
            report(f".signing.secrets[{i}]", "a Standard Webhooks secret: whsec_ followed by base64")
    if item.kind == "destination" and item.method not in ("POST", "PUT", "PATCH"):
        report(".method", "a destination sends a payload: POST, PUT or PATCH")
    outputs = []
    for name, field in item.outputs.items():
        try:
            outputs.append(OutputMapping.compile(name, field.path, field.type, field.default))
        except MappingError as exc:
            report(f".outputs.{name}.path", str(exc))
    if failed:
        return None
    try:
        client_options = _tls(item.tls)
        token_options = _tls(getattr(item.auth, "tls", None))
    except (OSError, ssl.SSLError) as exc:
        issue(".tls", f"cannot load the certificate or CA bundle: {exc}")
        return None
    auth, secrets = _auth(item.auth, token_options)
    return Connection(
        id=item.id,
        kind=item.kind,
        method=item.method,
        base_url=httpx.URL(item.base_url),
        path=path,
        query=tuple((k, TextTemplate.compile(v)) for k, v in item.query.items()),
        headers=tuple((k.lower(), TextTemplate.compile(v)) for k, v in item.headers.items()),
        body=body,
        form=form,
        auth=auth,
        timeouts=Timeouts(item.timeouts.connect_ms / 1000, item.timeouts.read_ms / 1000, item.timeouts.total_ms / 1000),
        retries=Retries(
            item.retries.attempts, item.retries.backoff_ms / 1000, item.retries.max_backoff_ms / 1000, item.retries.safe
        ),
        cache_ttl=item.cache_ttl_s,
        max_bytes=item.max_response_bytes,
        breaker_failures=item.breaker.failures,
        breaker_reset=item.breaker.reset_s,
        outputs=tuple(outputs),
        client_options=client_options,
        secrets=secret_forms([*secrets, *signing]),
        signing=signing,
        delivery=DeliveryPolicy(
            tuple(item.delivery.schedule_s),
            item.delivery.concurrency,
            item.delivery.rate_per_s,
            item.delivery.allow_private_network,
        ),
    )
