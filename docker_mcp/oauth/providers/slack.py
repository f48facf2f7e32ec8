"""Slack's oauth.v2.user.access (and oauth.v2.access) answer HTTP 200 with `{"ok": false, "error": X}`
on failure, and `"token_type": "user"` with comma-separated scopes on success; standard OAuth clients
read the first as a token response without a token, and reject the second. https://api.slack.com/methods/oauth.v2.user.access"""

from __future__ import annotations

import json
from typing import Any

# Slack's names for a client-authentication failure (RFC 6749's invalid_client).
CLIENT_AUTH_ERRORS = ("invalid_client_id", "bad_client_secret", "invalid_client")


def token_response(response: Any) -> Any:
    try:
        data = response.json()
    except ValueError:
        return response
    if not isinstance(data, dict) or "ok" not in data:
        return response  # not Slack
    if data.get("ok") is False:
        error = str(data.get("error") or "unknown_error")
        body = {"error": error}
        response.status_code = 401 if error in CLIENT_AUTH_ERRORS else 400
    else:
        body = dict(data)
        body.pop("ok", None)
        if body.get("token_type") == "user":
            body["token_type"] = "Bearer"  # a user token is used as a bearer token
        if isinstance(body.get("scope"), str):
            body["scope"] = " ".join(s for s in body["scope"].replace(",", " ").split())  # Slack separates with commas
    response._content = json.dumps(body).encode()
    return response
