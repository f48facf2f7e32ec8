"""A stand-in for Slack's OAuth, as the official Slack MCP server uses it (user tokens, PKCE).

Slack's token endpoint behaves like no standard authorization server, so the OAuth client's Slack
quirks are tested against this server on 127.0.0.1 rather than against a general one. What it
reproduces, from Slack's method docs (oauth.v2.user.access, oauth.v2.access, "Using token rotation",
"Installing with OAuth"):

- ``GET /oauth/v2_user/authorize``: with a known ``client_id`` and a ``redirect_uri`` that equals one
  of the app's Redirect URLs exactly (or none: the first one is used), it consents at once and answers
  302 to ``redirect_uri?code=…&state=…``. Otherwise it answers an HTML error page (HTTP 200, no
  redirect), as Slack does: the client never hears of it. ``scope`` or ``user_scope`` may be comma- or
  space-separated; ``resource`` (RFC 8707) is accepted and remembered.
- ``POST /api/oauth.v2.user.access`` (form, or JSON): always HTTP 200. Success is
  ``{"ok": true, "access_token": "xoxp-…", "token_type": "user", "scope": "a,b", "expires_in": 43200,
  "refresh_token": "xoxe-1-…", …}``; failure is ``{"ok": false, "error": CODE}`` with Slack's codes:
  ``invalid_client_id``, ``bad_client_secret``, ``invalid_code``, ``bad_redirect_uri``,
  ``invalid_refresh_token``, ``invalid_grant_type``. Granted scopes come back comma-separated, as
  Slack writes them.

What is a choice, not Slack's documentation: a wrong ``code_verifier`` answers ``invalid_code`` (Slack
documents no PKCE-specific error); Basic credentials when only body credentials are accepted are
ignored (so the body has no ``client_id``: ``invalid_client_id``); PKCE is required unless
``require_pkce=False``.

Every request is recorded (method, path, parameter names, auth scheme, status, Slack error code),
never a value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.servers.recording import RecordedRequest, RequestLog, auth_scheme

AUTHORIZE_PATH = "/oauth/v2_user/authorize"
TOKEN_PATH = "/api/oauth.v2.user.access"
METADATA_PATH = "/.well-known/oauth-authorization-server"
PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource"

ClientAuth = Literal["body", "basic", "both"]


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str | None  # as sent to the authorize endpoint (None when it was left out)
    code_challenge: str | None
    scopes: tuple[str, ...]
    resource: str | None
    expires_at: float


@dataclass
class IssuedToken:
    """What the stand-in knows about an access token it issued (for tests to inspect)."""

    client_id: str
    scopes: tuple[str, ...]
    resource: str | None
    expires_at: float | None


class SlackStandIn:
    """Slack's user-token OAuth on 127.0.0.1, an ephemeral port, in a background thread.

    ``client_auth``: where the client's credentials are accepted: ``"body"`` (``client_id`` and
    ``client_secret`` form fields, what Slack's MCP metadata advertises as ``client_secret_post``),
    ``"basic"`` (HTTP Basic only) or ``"both"`` (Slack's method docs also accept, and prefer, Basic).
    ``expires_in``: access-token lifetime in seconds; None for Slack's non-rotating tokens (no
    ``expires_in``, no ``refresh_token``). ``rotate_refresh_tokens``: a used refresh token stops
    working and a new one is issued (Slack's token rotation); else the same one comes back.
    ``public_clients``: a request without any client secret is accepted when it carries a PKCE
    verifier (the authorization-code grant) or a refresh token. ``serve_metadata``: also serve the
    RFC 8414 document mcp.slack.com serves (pointing here) and RFC 9728 metadata with ``resource`` =
    ``base_url``.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | Iterable[str],
        *,
        client_auth: ClientAuth = "body",
        expires_in: int | None = 43200,
        rotate_refresh_tokens: bool = True,
        require_pkce: bool = True,
        public_clients: bool = False,
        code_lifetime: float = 600.0,
        user_id: str = "U123",
        team: dict[str, str] | None = None,
        serve_metadata: bool = False,
        scopes_supported: Iterable[str] = ("search:read.public", "chat:write", "channels:history"),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = [redirect_uri] if isinstance(redirect_uri, str) else list(redirect_uri)
        if not self.redirect_uris:
            raise ValueError("a Slack app has at least one Redirect URL")
        self.client_auth: ClientAuth = client_auth
        self.expires_in = expires_in
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.require_pkce = require_pkce
        self.public_clients = public_clients
        self.code_lifetime = code_lifetime
        self.user_id = user_id
        self.team = team or {"id": "T123", "name": "Stand-in"}
        self.serve_metadata = serve_metadata
        self.scopes_supported = list(scopes_supported)
        self.app_id = "A0STANDIN"

        self.requests = RequestLog()
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, IssuedToken] = {}
        self._refresh: dict[str, IssuedToken] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        handler = type("_Handler", (_Handler,), {"standin": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the Slack stand-in is not running")
        return f"http://127.0.0.1:{self._httpd.server_port}"

    @property
    def authorize_url(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    # --- what tests may inspect or change -----------------------------------------------------

    def token_info(self, access_token: str) -> IssuedToken | None:
        """The grant behind an access token this stand-in issued and still honours, else None."""
        with self._lock:
            info = self._access.get(access_token)
        if info is None or (info.expires_at is not None and info.expires_at < time.time()):
            return None
        return info

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token (as when a user removes the app): refreshes answer invalid_refresh_token."""
        with self._lock:
            self._refresh.clear()

    def metadata(self) -> dict[str, Any]:
        """The RFC 8414 document mcp.slack.com publishes, pointing at this stand-in."""
        return {
            "issuer": self.base_url,
            "authorization_endpoint": self.authorize_url,
            "token_endpoint": self.token_url,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": self.scopes_supported,
        }

    def protected_resource_metadata(self) -> dict[str, Any]:
        return {
            "resource": self.base_url,
            "authorization_servers": [self.base_url],
            "bearer_methods_supported": ["header", "form"],
            "scopes_supported": self.scopes_supported,
        }

    # --- the endpoints ------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes, str | None]:
        """(status, headers, body, error code) for GET /oauth/v2_user/authorize."""
        if query.get("client_id") != self.client_id:
            return _error_page("invalid_client_id", "Invalid client_id parameter")
        redirect_uri = query.get("redirect_uri")
        if redirect_uri is not None and redirect_uri not in self.redirect_uris:
            return _error_page("bad_redirect_uri", "redirect_uri did not match any configured URIs")
        target = redirect_uri or self.redirect_uris[0]
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method")
        if challenge is None and self.require_pkce:
            return _redirect(target, error="invalid_request", state=query.get("state"))
        if challenge is not None and method != "S256":
            return _redirect(target, error="invalid_code_challenge_method", state=query.get("state"))
        raw_scope = query.get("user_scope") or query.get("scope") or ""
        scopes = tuple(s for s in raw_scope.replace(",", " ").split() if s)
        if not scopes:
            return _redirect(target, error="no_user_scopes", state=query.get("state"))
        code = f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**13)}.{secrets.token_hex(32)}"
        with self._lock:
            self._codes[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                scopes=scopes,
                resource=query.get("resource"),
                expires_at=time.time() + self.code_lifetime,
            )
        return _redirect(target, code=code, state=query.get("state"))

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """The JSON body (always sent with HTTP 200) for POST /api/oauth.v2.user.access."""
        client_id, client_secret = self._client_credentials(form, authorization)
        if client_id is None or client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        grant_type = form.get("grant_type", "authorization_code")
        if client_secret is None:
            public = self.public_clients and (
                (grant_type == "authorization_code" and "code_verifier" in form) or grant_type == "refresh_token"
            )
            if not public:
                return {"ok": False, "error": "bad_client_secret"}
        elif not hmac.compare_digest(client_secret.encode(), self.client_secret.encode()):
            return {"ok": False, "error": "bad_client_secret"}

        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        return {"ok": False, "error": "invalid_grant_type"}

    def _client_credentials(self, form: dict[str, str], authorization: str | None) -> tuple[str | None, str | None]:
        if self.client_auth in ("basic", "both") and authorization and authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None, None
            user, _, password = decoded.partition(":")
            return unquote(user), unquote(password)
        if self.client_auth in ("body", "both"):
            return form.get("client_id"), form.get("client_secret")
        return None, None

    def _exchange_code(self, form: dict[str, str]) -> dict[str, Any]:
        code = form.get("code")
        with self._lock:
            grant = self._codes.pop(code, None) if code else None  # a code works once
        if grant is None or grant.expires_at < time.time():
            return {"ok": False, "error": "invalid_code"}
        if grant.redirect_uri is not None and form.get("redirect_uri") != grant.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.code_challenge:
                return {"ok": False, "error": "invalid_code"}
        return self._issue(grant.scopes, grant.resource, previous_refresh=None)

    def _refresh_grant(self, form: dict[str, str]) -> dict[str, Any]:
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            return {"ok": False, "error": "invalid_refresh_token"}
        with self._lock:
            info = (
                self._refresh.pop(refresh_token, None)
                if self.rotate_refresh_tokens
                else self._refresh.get(refresh_token)
            )
        if info is None:
            return {"ok": False, "error": "invalid_refresh_token"}
        return self._issue(
            info.scopes, info.resource, previous_refresh=None if self.rotate_refresh_tokens else refresh_token
        )

    def _issue(self, scopes: tuple[str, ...], resource: str | None, previous_refresh: str | None) -> dict[str, Any]:
        now = time.time()
        access = f"xoxp-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-{secrets.token_hex(16)}"
        info = IssuedToken(
            client_id=self.client_id,
            scopes=scopes,
            resource=resource,
            expires_at=None if self.expires_in is None else now + self.expires_in,
        )
        body: dict[str, Any] = {
            "ok": True,
            "app_id": self.app_id,
            "access_token": access,
            "token_type": "user",
            "scope": ",".join(scopes),
            "user_id": self.user_id,
            "team": dict(self.team),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        with self._lock:
            self._access[access] = info
            if self.expires_in is not None:
                refresh = previous_refresh or f"xoxe-1-{secrets.token_hex(48)}"
                self._refresh[refresh] = info
                body["expires_in"] = self.expires_in
                body["refresh_token"] = refresh
        return body


def _redirect(target: str, **params: str | None) -> tuple[int, dict[str, str], bytes, str | None]:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if urlsplit(target).query else "?"
    return 302, {"Location": f"{target}{sep}{query}", "Cache-Control": "no-store"}, b"", params.get("error")


def _error_page(code: str, message: str) -> tuple[int, dict[str, str], bytes, str | None]:
    body = (
        "<!DOCTYPE html><html><head><title>Slack</title></head><body>"
        f"<h1>Oops, something went wrong.</h1><p>{html.escape(message)}</p>"
        f'<p class="error-code">{html.escape(code)}</p></body></html>'
    ).encode()
    return 200, {"Content-Type": "text/html; charset=utf-8"}, body, code


class _Handler(BaseHTTPRequestHandler):
    standin: SlackStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests instead
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query_pairs = parse_qsl(url.query, keep_blank_values=True)
        query = dict(query_pairs)
        names = tuple(k for k, _ in query_pairs)
        if url.path == AUTHORIZE_PATH:
            status, headers, body, error = self.standin.authorize(query)
        elif self.standin.serve_metadata and url.path == METADATA_PATH:
            status, headers, body, error = _json(self.standin.metadata())
        elif self.standin.serve_metadata and url.path == PROTECTED_RESOURCE_PATH:
            status, headers, body, error = _json(self.standin.protected_resource_metadata())
        elif url.path == TOKEN_PATH:  # Slack's Web API takes GET too; the stand-in wants the form
            status, headers, body, error = _json({"ok": False, "error": "invalid_form_data"})
        else:
            status, headers, body, error = 404, {"Content-Type": "text/plain"}, b"not found", None
        self._answer("GET", url.path, names, status, headers, body, error)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        pairs: list[tuple[str, str]] = parse_qsl(url.query, keep_blank_values=True)
        if content_type == "application/json":
            try:
                loaded = json.loads(raw or b"{}")
                pairs += [(str(k), str(v)) for k, v in loaded.items()] if isinstance(loaded, dict) else []
            except ValueError:
                pass
        else:
            pairs += parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        names = tuple(k for k, _ in pairs)
        if url.path == TOKEN_PATH:
            result = self.standin.token(dict(pairs), self.headers.get("Authorization"))
            status, headers, body, error = _json(result)
        else:
            status, headers, body, error = 404, {"Content-Type": "text/plain"}, b"not found", None
        self._answer("POST", url.path, names, status, headers, body, error)

    def _answer(
        self,
        method: str,
        path: str,
        names: tuple[str, ...],
        status: int,
        headers: dict[str, str],
        body: bytes,
        error: str | None,
    ) -> None:
        self.standin.requests.append(
            RecordedRequest(
                method=method,
                path=path,
                params=names,
                auth=auth_scheme(self.headers.get("Authorization")),
                status=status,
                error=error,
            )
        )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _json(obj: dict[str, Any]) -> tuple[int, dict[str, str], bytes, str | None]:
    error = obj.get("error") if obj.get("ok") is False else None
    return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(obj).encode(), error
