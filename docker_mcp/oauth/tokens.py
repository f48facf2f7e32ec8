"""Tokens: the stored record (the Go plugin's CE key `<authorizationEndpoint>/<server>`, username
`oauth2_<server>`, base64 JSON) and refresh before expiry, one refresh at a time per server."""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ..secrets.store import CredentialStore
from .clients import ClientRecord, load_client, save_client
from .errors import NotAuthorizedError, OAuthError, TokenError

REFRESH_MARGIN_SECONDS = 60  # at most; a short-lived token's margin is a quarter of its lifetime


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    refresh_token: str = field(default="", repr=False)
    expiry: datetime | None = None
    scope: str = ""
    expires_in: float | None = None  # the lifetime (seconds) the token endpoint gave; None: not known

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        if self.expiry is None:
            return False
        return self.expiry - (now or datetime.now(UTC)) <= timedelta(seconds=seconds)

    def refresh_due(self, margin: float, now: datetime | None = None) -> bool:
        """Whether to refresh before use: the token expires within `margin` seconds, or within a quarter of
        its lifetime when that is shorter (a token that lives 45 s is refreshed 11 s before its end, not
        before each use, as a fixed 60 s margin had it). golang.org/x/oauth2 refreshes 10 s early."""
        if self.expires_in is not None and self.expires_in > 0:
            margin = min(margin, self.expires_in / 4)
        return self.expires_within(margin, now)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type}
        if self.refresh_token:
            data["refresh_token"] = self.refresh_token
        if self.expiry is not None:
            data["expiry"] = self.expiry.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if self.scope:
            data["scope"] = self.scope
        if self.expires_in is not None:  # golang.org/x/oauth2's Token keeps the wire's expires_in too
            data["expires_in"] = int(self.expires_in)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Token:
        expiry = None
        raw = data.get("expiry")
        if isinstance(raw, str) and raw and not raw.startswith("0001-01-01"):  # Go's zero time: unknown
            try:
                expiry = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                expiry = None
        lifetime = data.get("expires_in")
        return cls(
            access_token=str(data.get("access_token") or ""),
            token_type=str(data.get("token_type") or "Bearer"),
            refresh_token=str(data.get("refresh_token") or ""),
            expiry=expiry,
            scope=str(data.get("scope") or ""),
            expires_in=float(lifetime)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0
            else None,
        )

    @classmethod
    def from_response(cls, response: dict[str, Any], previous_refresh_token: str = "") -> Token:
        """A token endpoint's answer (as requests-oauthlib parsed it); a refresh token it leaves out is kept."""
        expiry = None
        lifetime = None
        expires_in = response.get("expires_in")
        try:
            seconds = float(expires_in) if expires_in is not None else 0.0
            if seconds < 0:  # already expired: refreshed before its first use
                expiry = datetime.now(UTC)
            elif seconds > 0:  # 0 or absent: unknown, as golang.org/x/oauth2 reads it
                expiry = datetime.now(UTC) + timedelta(seconds=seconds)
                lifetime = float(int(seconds)) or None  # whole seconds: Go's Token reads an int64
        except (TypeError, ValueError, OverflowError):
            expiry = lifetime = None
        scope = response.get("scope")
        if isinstance(scope, list):
            scope = " ".join(scope)
        token_type = str(response.get("token_type") or "Bearer")
        access_token = response.get("access_token")
        return cls(
            access_token=access_token if isinstance(access_token, str) else "",  # else: "answered without"
            token_type="Bearer" if token_type.lower() == "bearer" else token_type,
            refresh_token=str(response.get("refresh_token") or previous_refresh_token or ""),
            expiry=expiry,
            scope=str(scope or ""),
            expires_in=lifetime,
        )


def token_key(record: ClientRecord) -> str:
    """`<authorizationEndpoint>/<server>`, as the Go plugin keys tokens; a client_credentials client
    without an authorization endpoint (its token endpoint configured, or none in the metadata):
    `<tokenEndpoint>/<server>`. Any other record keeps the Go key, even without an authorization endpoint."""
    endpoint = record.authorization_endpoint
    if not endpoint and record.grant_type == "client_credentials":
        endpoint = record.token_endpoint
    return f"{endpoint}/{record.server_name}"


def token_username(server: str) -> str:
    return f"oauth2_{server}"


def load_token(store: CredentialStore, record: ClientRecord) -> Token | None:
    found = store.get(token_key(record))
    if found is None:
        return None
    try:
        data = json.loads(base64.b64decode(found.secret))
    except (binascii.Error, ValueError):
        data = None
    if not isinstance(data, dict) or not data.get("access_token"):
        raise OAuthError(
            f"the stored token for {record.server_name} is unreadable: "
            f"run 'docker mcp oauth authorize {record.server_name}'"
        )
    return Token.from_json(data)


def save_token(store: CredentialStore, record: ClientRecord, token: Token) -> None:
    encoded = base64.b64encode(json.dumps(token.to_json()).encode()).decode()
    store.put(token_key(record), token_username(record.server_name), encoded)


def delete_token(store: CredentialStore, record: ClientRecord) -> bool:
    return store.delete(token_key(record))


def expired_message(server: str) -> str:
    return f"authorization for {server} expired: run 'docker mcp oauth authorize {server}'"


def not_authorized_message(server: str) -> str:
    return f"{server} is not authorized: run 'docker mcp oauth authorize {server}'"


class TokenSource(Protocol):
    """What hands the gateway a server's bearer token: the Refresher (the local store), or Desktop's
    tokens (oauth/desktop.py)."""

    margin: float  # seconds before expiry at which a token counts as expired

    def token(self, server: str, rejected: Token | None = None) -> Token: ...


class Refresher:
    """Hands out a valid access token per server, refreshing when it expires within the margin or when
    a caller reports it rejected (401). Concurrent callers for one server share a single refresh. A
    client_credentials client (SEP-1046) is renewed by a new client_credentials request, and
    `first_token(server)` (None: not such a server) gets the first token of one that has none yet."""

    def __init__(
        self,
        store: CredentialStore,
        secret_for: Callable[[ClientRecord], str | None],
        session_factory: Callable[[ClientRecord], Any],
        margin_seconds: float = REFRESH_MARGIN_SECONDS,
        first_token: Callable[[str], Token | None] | None = None,
    ) -> None:
        self.store = store
        self.secret_for = secret_for
        self.session_factory = session_factory
        self.margin = margin_seconds
        self.first_token = first_token
        self._locks: dict[str, threading.Lock] = {}
        self._refreshes: dict[str, int] = {}  # per server: how many refreshes finished
        self._guard = threading.Lock()

    def _lock(self, server: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(server, threading.Lock())

    def token(self, server: str, rejected: Token | None = None) -> Token:
        """A token to use now. Pass `rejected` after a 401 to get a refreshed one (at most one refresh)."""
        seen = self._refreshes.get(server, 0)
        with self._lock(server):
            record = load_client(self.store, server)
            token = load_token(self.store, record) if record is not None else None
            if record is None or token is None:
                first = self.first_token(server) if self.first_token is not None else None
                if first is None:
                    raise NotAuthorizedError(not_authorized_message(server))
                self._refreshes[server] = seen + 1
                return first
            if self._refreshes.get(server, 0) != seen:
                return token  # a refresh finished while this caller waited: that one is for it too
            if rejected is not None and token.access_token != rejected.access_token:
                return token  # another caller (or process) refreshed it meanwhile
            if rejected is None and not token.refresh_due(self.margin):
                return token
            token = self._refresh(record, token)
            self._refreshes[server] = seen + 1
            return token

    def _refresh(self, record: ClientRecord, token: Token) -> Token:
        from .token_endpoint import CLIENT_CREDENTIALS, refresh

        if record.grant_type == CLIENT_CREDENTIALS:
            return self._renew(record)
        if not token.refresh_token:
            raise NotAuthorizedError(expired_message(record.server_name))
        try:
            response, method = refresh(self.session_factory(record), record, token.refresh_token, self.secret_for)
        except TokenError as e:
            if e.error in ("invalid_grant", "invalid_refresh_token", "token_revoked", "token_expired"):
                raise NotAuthorizedError(expired_message(record.server_name)) from None
            raise
        new = Token.from_response(response, previous_refresh_token=token.refresh_token)
        save_token(self.store, record, new)
        if method != record.token_endpoint_auth_method:
            save_client(self.store, record.with_auth_method(method))
        return new

    def _renew(self, record: ClientRecord) -> Token:
        """A client_credentials client has no refresh token (RFC 6749 §4.4.3): it asks for a new token, for
        the resource and scopes of the stored record."""
        from .token_endpoint import client_credentials

        session = self.session_factory(record)
        response, method = client_credentials(session, record, self.secret_for, (), record.resource_url or None)
        new = Token.from_response(response)
        if not new.access_token:
            raise TokenError(f"the token endpoint of {record.server_name} answered without an access_token")
        save_token(self.store, record, new)
        if method != record.token_endpoint_auth_method:
            save_client(self.store, record.with_auth_method(method))
        return new
