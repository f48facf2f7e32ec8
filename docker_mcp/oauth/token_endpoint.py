"""Requests to the token endpoint (code exchange and refresh) through requests-oauthlib's OAuth2Session,
with the client authenticated as the client record says, or as detected (PRODUCT.md §7)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from . import providers
from .clients import ClientRecord
from .errors import TokenError
from .http import TIMEOUT_SECONDS, check_url, describe_failure, insecure_allowed

BASIC, POST, NONE = "client_secret_basic", "client_secret_post", "none"
SecretLookup = Callable[[ClientRecord], str | None]


def oauth_session(record: ClientRecord, scopes: tuple[str, ...] = (), state: str | None = None) -> Any:
    """An OAuth2Session for this client with PKCE S256 and the provider hooks registered."""
    from requests_oauthlib import OAuth2Session

    from ..metadata import version

    # oauthlib refuses http endpoints unless told, and treats a narrower granted scope as an error.
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    if insecure_allowed():
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

    class TokenSession(OAuth2Session):
        last_token_status: int | None = None  # oauthlib's errors do not carry the HTTP status

    session = TokenSession(
        record.client_id,
        redirect_uri=record.redirect_uri or None,
        scope=list(scopes) or None,
        state=state,
        pkce="S256",
    )
    session.headers["User-Agent"] = f"docker-mcp/{version()}"

    def token_response(response: Any) -> Any:
        # requests-oauthlib keeps hooks in a set (no order), so one hook applies the provider fixes
        # first (one may turn an HTTP 200 into the error it means) and then notes the status.
        response = providers.fix_token_response(response)
        session.last_token_status = response.status_code
        return response

    session.register_compliance_hook("access_token_response", token_response)
    session.register_compliance_hook("refresh_token_response", token_response)
    return session


class FormEncodedBasic:
    """HTTP Basic with the client id and secret form-encoded first (RFC 6749 §2.3.1), as golang.org/x/oauth2 does."""

    def __init__(self, client_id: str, secret: str) -> None:
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
        self._header = "Basic " + base64.b64encode(pair).decode()

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self._header
        return request


def auth_methods_to_try(record: ClientRecord, advertised: tuple[str, ...]) -> list[str]:
    """Which client authentication to use, in order of attempt."""
    if not record.has_secret:
        return [NONE]
    if record.token_endpoint_auth_method in (BASIC, POST):
        return [record.token_endpoint_auth_method]
    for method in (BASIC, POST):
        if method in advertised:
            return [method]
    return [BASIC, POST]  # nothing advertised: Basic first, then the body, as golang.org/x/oauth2 does


def _auth_kwargs(method: str, record: ClientRecord, secret: str | None) -> dict[str, Any]:
    if method == NONE:
        return {"include_client_id": True}
    if secret is None:
        raise TokenError(f"the client secret for {record.server_name} is not available")
    if method == POST:
        return {"include_client_id": True, "client_secret": secret}
    # client_id in the body too: harmless for RFC 6749 servers, required by the MCP SDK's
    return {"auth": FormEncodedBasic(record.client_id, secret), "include_client_id": True}


def exchange_code(
    session: Any,
    record: ClientRecord,
    code: str,
    secret_for: SecretLookup,
    advertised: tuple[str, ...] = (),
    resource: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Trade the authorization code for a token; returns the token and the auth method that worked."""
    check_url(record.token_endpoint, "token endpoint")
    extra = {"resource": resource} if resource else {}

    def attempt(kwargs: dict[str, Any]) -> dict[str, Any]:
        token: dict[str, Any] = session.fetch_token(
            record.token_endpoint, code=code, timeout=TIMEOUT_SECONDS, **kwargs, **extra
        )
        return token

    return _with_client_auth(session, record, secret_for, advertised, attempt)


def refresh(
    session: Any, record: ClientRecord, refresh_token: str, secret_for: SecretLookup
) -> tuple[dict[str, Any], str]:
    check_url(record.token_endpoint, "token endpoint")

    def attempt(kwargs: dict[str, Any]) -> dict[str, Any]:
        auth = kwargs.pop("auth", None)
        include = kwargs.pop("include_client_id", False)
        if include:
            kwargs["client_id"] = record.client_id
        token: dict[str, Any] = session.refresh_token(
            record.token_endpoint, refresh_token=refresh_token, auth=auth, timeout=TIMEOUT_SECONDS, **kwargs
        )
        return token

    return _with_client_auth(session, record, secret_for, (), attempt)


def _with_client_auth(
    session: Any,
    record: ClientRecord,
    secret_for: SecretLookup,
    advertised: tuple[str, ...],
    attempt: Callable[[dict[str, Any]], dict[str, Any]],
) -> tuple[dict[str, Any], str]:
    methods = auth_methods_to_try(record, advertised)
    secret = secret_for(record) if methods != [NONE] else None  # resolved only now, when it is needed
    for i, method in enumerate(methods):
        session.last_token_status = None
        try:
            return attempt(_auth_kwargs(method, record, secret)), method
        except TokenError as e:
            if e.client_auth_rejected and i + 1 < len(methods):
                continue
            raise
        except Exception as e:
            error = _token_error(e, record, session.last_token_status)
            if error.client_auth_rejected and i + 1 < len(methods):
                continue
            raise error from None
    raise AssertionError("unreachable")


def _token_error(e: Exception, record: ClientRecord, status: int | None) -> TokenError:
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    if isinstance(e, OAuth2Error):
        error = e.error
        if error == "missing_token" and status and status >= 400:
            return TokenError(f"token endpoint {record.token_endpoint} answered HTTP {status}", None, status == 401)
        message = f"token endpoint error: {error}"
        if e.description and e.description != error:
            message += f" ({' '.join(str(e.description).split())[:200]})"
        return TokenError(message, error, status == 401 or error == "invalid_client")
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError

    if isinstance(e, InsecureTransportError):
        return TokenError(f"token endpoint {record.token_endpoint} must use https")
    import requests

    if isinstance(e, requests.RequestException):
        return TokenError(f"cannot reach the token endpoint {record.token_endpoint}: {describe_failure(e)}")
    return TokenError(f"token request failed: {type(e).__name__}")
