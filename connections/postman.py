"""A connection as a Postman v2.1 collection item that reproduces its request: same URL, query, default
and custom headers, body and auth. Inputs become `{{variables}}`; secrets become `{{<connection>_...}}`
variables left empty in the export, never their values.

OAuth2 client_credentials is exported as Postman's own `oauth2` auth (so "Get New Access Token" works
in the app) plus a pre-request script that fetches the token with the same form, because newman does
not run the app's token helper.
"""

from __future__ import annotations

import json
from typing import Any

from .auth import AuthScheme, OAuth2ClientCredentials
from .connection import DEFAULT_HEADERS, Connection
from .templating import PLACEHOLDER

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def _vars(text: str) -> str:
    """`${name}` placeholders as Postman `{{name}}` variables."""
    return PLACEHOLDER.sub(lambda m: "{{" + m.group(1) + "}}", text)


def _body(connection: Connection) -> dict[str, Any] | None:
    if connection.form is not None:
        return {
            "mode": "urlencoded",
            "urlencoded": [{"key": k, "value": _vars(t.source), "type": "text"} for k, t in connection.form],
        }
    if connection.body is not None:
        # Postman variables are text: a whole-value placeholder replays as a JSON string, where the service
        # inserts the input with its own JSON type (a number input is sent as "3", not 3).
        raw = json.dumps(connection.body.source, indent=2)
        return {"mode": "raw", "raw": _vars(raw), "options": {"raw": {"language": "json"}}}
    return None


def _token_script(connection: Connection, token: OAuth2ClientCredentials, secret_var: str) -> list[str]:
    form = {
        "grant_type": "client_credentials",
        **({"scope": token.scope} if token.scope else {}),
        **({"audience": token.audience} if token.audience else {}),
        **token.form_items,
    }
    fields = [{"key": k, "value": v} for k, v in form.items()]
    headers = [f"'{k}': '{v}'" for k, v in token.headers.items()]
    if token.credentials_in == "body":
        fields += [
            {"key": "client_id", "value": token.client_id},
            {"key": "client_secret", "value": "{{" + secret_var + "}}"},
        ]
    else:
        headers.append(f"'Authorization': 'Basic ' + btoa('{token.client_id}:' + pm.variables.get('{secret_var}'))")
    var = f"{connection.id}_accessToken"
    return [
        "// Fetch a client_credentials token (newman does not run the app's OAuth 2.0 helper).",
        "const fields = " + json.dumps(fields) + ".map(f => ({key: f.key, value: pm.variables.replaceIn(f.value)}));",
        "pm.sendRequest({",
        f"  url: pm.variables.replaceIn('{{{{{connection.id}_tokenUrl}}}}'), method: 'POST',",
        "  header: {" + ", ".join(headers) + "},",
        "  body: {mode: 'urlencoded', urlencoded: fields}",
        "}, (err, res) => {",
        "  if (err) { throw err; }",
        f"  pm.variables.set('{var}', res.json().access_token);",
        "});",
    ]


SAMPLE_PAYLOAD = '{"trigger": {"id": "postman"}, "event": {"type": "POSTMAN"}}'


def _signing_script(secret_var: str) -> list[str]:
    """Standard Webhooks v1 headers for this send, as the delivery worker makes them (CryptoJS is in
    Postman's and newman's sandbox)."""
    return [
        "// Sign as the delivery worker does: v1,base64(HMAC-SHA256(secret, id.timestamp.body)).",
        f"const secret = (pm.variables.get('{secret_var}') || '').replace(/^whsec_/, '');",
        "const id = 'msg_postman_' + Date.now();",
        "const timestamp = Math.floor(Date.now() / 1000).toString();",
        "const body = pm.variables.replaceIn(pm.request.body ? pm.request.body.raw : '');",
        "const key = CryptoJS.enc.Base64.parse(secret);",
        "const signature = CryptoJS.HmacSHA256(id + '.' + timestamp + '.' + body, key).toString(CryptoJS.enc.Base64);",
        "pm.request.headers.upsert({key: 'webhook-id', value: id});",
        "pm.request.headers.upsert({key: 'webhook-timestamp', value: timestamp});",
        "pm.request.headers.upsert({key: 'webhook-signature', value: 'v1,' + signature});",
    ]


def postman_item(connection: Connection) -> tuple[dict[str, Any], dict[str, str]]:
    """The collection item, and the variables it uses (inputs and secrets, all empty)."""
    variables = {name: "" for name in connection.inputs}
    # The base URL is a variable (defaulting to the configured one), to point the item at another host.
    base_var = f"{connection.id}_baseUrl"
    variables[base_var] = connection.base_text
    base = "{{" + base_var + "}}"
    path = _vars(connection.path.source)
    query = [{"key": k, "value": _vars(t.source)} for k, t in connection.query]
    raw_url = base + path + ("?" + "&".join(f"{q['key']}={q['value']}" for q in query) if query else "")
    headers = dict(DEFAULT_HEADERS)
    if connection.form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif connection.body is not None:
        headers["content-type"] = "application/json"
    headers.update({k: _vars(t.source) for k, t in connection.headers})
    request: dict[str, Any] = {
        "method": connection.method,
        "header": [{"key": k, "value": v} for k, v in headers.items()],
        "url": raw_url,  # a string: Postman parses it once variables resolve (the base may hold a path)
    }
    body = _body(connection)
    if body is None and connection.kind == "destination":
        # A destination's body is a trigger's payload: a sample to edit (the delivery log shows real ones).
        headers["content-type"] = "application/json"
        request["header"] = [{"key": k, "value": v} for k, v in headers.items()]
        body = {"mode": "raw", "raw": SAMPLE_PAYLOAD, "options": {"raw": {"language": "json"}}}
    if body is not None:
        request["body"] = body
    events: list[dict[str, Any]] = [
        {
            "listen": "test",
            "script": {
                "type": "text/javascript",
                "exec": [
                    "pm.test('the connection answers 2xx', () => pm.expect(pm.response.code).to.be.within(200, 299));",
                ],
            },
        }
    ]
    auth_kind = _auth(connection, request, variables, events)
    if connection.signing:
        secret_var = f"{connection.id}_signingSecret"
        variables[secret_var] = ""
        events.insert(
            0, {"listen": "prerequest", "script": {"type": "text/javascript", "exec": _signing_script(secret_var)}}
        )
        auth_kind += ", Standard Webhooks signature"
    item = {
        "name": connection.id,
        "description": f"Connection `{connection.id}` ({auth_kind})",
        "request": request,
        "event": events,
    }
    return item, variables


def _auth(
    connection: Connection, request: dict[str, Any], variables: dict[str, str], events: list[dict[str, Any]]
) -> str:
    auth = connection.auth
    if isinstance(auth, OAuth2ClientCredentials):
        token = auth
        secret_var = f"{connection.id}_clientSecret"
        variables[secret_var] = ""
        variables[f"{connection.id}_tokenUrl"] = token.token_url
        params = {
            "grant_type": "client_credentials",
            "accessTokenUrl": "{{" + connection.id + "_tokenUrl}}",
            "clientId": token.client_id,
            "clientSecret": "{{" + secret_var + "}}",
            "scope": token.scope or "",
            "client_authentication": "body" if token.credentials_in == "body" else "header",
            "accessToken": "{{" + connection.id + "_accessToken}}",
            "addTokenTo": "header",
            "tokenName": connection.id,
        }
        request["auth"] = {
            "type": "oauth2",
            "oauth2": [{"key": k, "value": v, "type": "string"} for k, v in params.items()],
        }
        events.insert(
            0,
            {
                "listen": "prerequest",
                "script": {"type": "text/javascript", "exec": _token_script(connection, token, secret_var)},
            },
        )
        return "oauth2 client_credentials"
    if auth.scheme is AuthScheme.BASIC:
        user_var, pass_var = f"{connection.id}_username", f"{connection.id}_password"
        variables[user_var], variables[pass_var] = "", ""
        request["auth"] = {
            "type": "basic",
            "basic": [
                {"key": "username", "value": "{{" + user_var + "}}"},
                {"key": "password", "value": "{{" + pass_var + "}}"},
            ],
        }
        return "basic"
    for name in auth.header_names:
        var = f"{connection.id}_{name.replace('-', '_')}"
        variables[var] = ""
        request["header"].append({"key": name, "value": "{{" + var + "}}"})
    return "custom headers" if auth.header_names else "no auth"


def collection(connections: list[Connection], name: str = "personalize connections") -> dict[str, Any]:
    items, variables = [], {}
    for connection in connections:
        item, used = postman_item(connection)
        items.append(item)
        variables.update(used)
    return {
        "info": {"name": name, "schema": SCHEMA},
        "item": [{"name": "Connections", "item": items}],
        "variable": [{"key": k, "value": v} for k, v in sorted(variables.items())],
    }
