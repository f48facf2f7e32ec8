"""Requests to the token endpoint (code exchange, refresh, and the client_credentials grant) through
requests-oauthlib's OAuth2Session, with the client authenticated as the client record says, or as
detected (PRODUCT.md §7): a client secret (HTTP Basic or the body), a private_key_jwt assertion
(RFC 7523 §2.2), or the client_id alone."""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ..errors import untrusted_text
from . import providers
from .clients import ClientRecord
from .errors import TokenError
from .http import MAX_RESPONSE_BYTES, check_url, describe_failure, insecure_allowed

BASIC, POST, NONE = "client_secret_basic", "client_secret_post", "none"
PRIVATE_KEY_JWT = "private_key_jwt"  # RFC 7523 §2.2, named as RFC 7591 §2 registers it
CLIENT_CREDENTIALS = "client_credentials"  # RFC 6749 §4.4; MCP's io.modelcontextprotocol/oauth-client-credentials
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2 client_assertion_type
DEFAULT_SIGNING_ALG = "RS256"
ASSERTION_LIFETIME_SECONDS = 300  # a client assertion is good for one request: short-lived (RFC 7523 §3)
SecretLookup = Callable[[ClientRecord], str | None]


def oauth_session(record: ClientRecord, scopes: tuple[str, ...] = (), state: str | None = None) -> Any:
    """An OAuth2Session for this client with PKCE S256, the provider hooks registered, and every request
    bounded as oauth/http.py's sessions are (no redirect followed: a 307 would re-send the client
    secret, code and verifier to the host it names)."""
    from requests_oauthlib import OAuth2Session

    from ..bounded_http import bounded_session_class
    from ..metadata import version

    # oauthlib refuses http endpoints unless told, and treats a narrower granted scope as an error.
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    if insecure_allowed():
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

    class TokenSession(bounded_session_class(OAuth2Session, MAX_RESPONSE_BYTES)):  # type: ignore[misc]
        last_token_status: int | None = None  # oauthlib's errors do not carry the HTTP status

    if record.grant_type == CLIENT_CREDENTIALS:  # no browser step: no redirect URI, state or PKCE
        from oauthlib.oauth2 import BackendApplicationClient

        session = TokenSession(client=BackendApplicationClient(record.client_id), scope=list(scopes) or None)
    else:
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
        return _checked_expires_in(response)

    session.register_compliance_hook("access_token_response", token_response)
    session.register_compliance_hook("refresh_token_response", token_response)
    return session


class FormEncodedBasic:
    """HTTP Basic with the client id and secret form-encoded first (RFC 6749 §2.3.1), as golang.org/x/oauth2 does."""

    def __init__(self, client_id: str, secret: str) -> None:
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
        self.credentials = base64.b64encode(pair).decode()
        self._header = "Basic " + self.credentials

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self._header
        return request


def auth_methods_to_try(record: ClientRecord, advertised: tuple[str, ...]) -> list[str]:
    """Which client authentication to use, in order of attempt: the one that worked last time, else the
    advertised one, else Basic then the body (as golang.org/x/oauth2 does). Basic is always followed by
    the body: servers that advertise or registered `client_secret_basic` and then reject the header (400
    invalid_request, "credentials missing or malformed") exist; the method that worked is remembered."""
    if record.token_endpoint_auth_method == PRIVATE_KEY_JWT:
        return [PRIVATE_KEY_JWT]
    if not record.has_secret:
        return [NONE]
    if record.token_endpoint_auth_method == POST:
        return [POST]
    if record.token_endpoint_auth_method != BASIC and POST in advertised and BASIC not in advertised:
        return [POST]
    return [BASIC, POST]


def _auth_kwargs(method: str, record: ClientRecord, secret: str | None) -> dict[str, Any]:
    if method == NONE:
        return {"include_client_id": True}
    if secret is None:
        raise TokenError(f"the client secret for {record.server_name} is not available")
    if method == PRIVATE_KEY_JWT:  # `secret`: the signed assertion
        return {"include_client_id": True, "client_assertion_type": JWT_BEARER, "client_assertion": secret}
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
        token: dict[str, Any] = session.fetch_token(record.token_endpoint, code=code, **kwargs, **extra)
        return token

    sent = (code, getattr(session, "_code_verifier", None) or "")
    return _with_client_auth(session, record, secret_for, advertised, attempt, sent)


def client_credentials(
    session: Any,
    record: ClientRecord,
    secret_for: SecretLookup,
    advertised: tuple[str, ...] = (),
    resource: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A token for the client itself, no user and no browser (RFC 6749 §4.4; MCP's client-credentials
    extension, SEP-1046): grant_type=client_credentials with `resource` (RFC 8707) and the record's
    scopes, the client authenticated by its secret or a private_key_jwt assertion. `session`: from
    oauth_session for a client_credentials record. Returns the token response and the auth method that
    worked; raises TokenError (one line, no secret in it)."""
    check_url(record.token_endpoint, "token endpoint")
    extra: dict[str, Any] = {"resource": resource} if resource else {}
    if record.scopes:
        extra["scope"] = list(record.scopes)

    def attempt(kwargs: dict[str, Any]) -> dict[str, Any]:
        token: dict[str, Any] = session.fetch_token(record.token_endpoint, **kwargs, **extra)
        return token

    return _with_client_auth(session, record, secret_for, advertised, attempt, ())


def client_assertion(record: ClientRecord, private_key_pem: str) -> str:
    """The private_key_jwt client assertion (RFC 7523 §2.2, §3): a JWT signed with the client's key by the
    record's token_endpoint_auth_signing_alg (default RS256), claims iss = sub = client_id, aud = the
    authorization server's issuer (else the token endpoint URL), iat, exp = iat + 300 s, a random jti.
    `private_key_pem`: an unencrypted PEM private key (PKCS#8, or the traditional RSA/EC forms). Raises
    TokenError naming the secret that holds the key (never its value) when it is not such a key or
    cannot sign with that algorithm."""
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    name, alg = record.client_secret_ref or "(unnamed)", record.token_endpoint_auth_signing_alg or DEFAULT_SIGNING_ALG
    try:
        load_pem_private_key(private_key_pem.encode(), password=None)  # says which of the two is wrong
    except Exception:  # whatever the parser says may quote the key: it is not passed on
        raise TokenError(
            f"the secret {name} does not hold an unencrypted PEM private key (PKCS#8): set it again with "
            f"'docker mcp secret set {name} < key.pem'"
        ) from None
    now = int(time.time())
    claims = {
        "iss": record.client_id,
        "sub": record.client_id,
        "aud": record.authorization_server or record.token_endpoint,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    try:
        return jwt.encode(claims, private_key_pem, algorithm=alg)
    except Exception:
        raise TokenError(
            f"the private key in the secret {name} cannot sign {alg}: set signingAlgorithm to one for its kind "
            "of key (ES256 for an EC P-256 key, RS256 or PS256 for an RSA key, EdDSA for Ed25519)"
        ) from None


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
            record.token_endpoint, refresh_token=refresh_token, auth=auth, **kwargs
        )
        return token

    return _with_client_auth(session, record, secret_for, (), attempt, (refresh_token,))


def _with_client_auth(
    session: Any,
    record: ClientRecord,
    secret_for: SecretLookup,
    advertised: tuple[str, ...],
    attempt: Callable[[dict[str, Any]], dict[str, Any]],
    sent: tuple[str, ...],
) -> tuple[dict[str, Any], str]:
    """`sent`: the values the request carries (code, verifier, refresh token), never to be printed."""
    methods = auth_methods_to_try(record, advertised)
    secret = secret_for(record) if methods != [NONE] else None  # resolved only now, when it is needed
    if secret and methods == [PRIVATE_KEY_JWT]:  # the key, and the assertion signed with it (sent as the secret)
        key, secret = secret, client_assertion(record, secret)
        sent = (*sent, key, secret)
    elif secret:  # the secret, and the Basic header that carries it
        sent = (*sent, secret, FormEncodedBasic(record.client_id, secret).credentials)
    for i, method in enumerate(methods):
        session.last_token_status = None
        try:
            return attempt(_auth_kwargs(method, record, secret)), method
        except TokenError as e:
            if _try_the_next(e, method) and i + 1 < len(methods):
                continue
            raise
        except Exception as e:
            error = _token_error(e, record, session.last_token_status, sent)
            if _try_the_next(error, method) and i + 1 < len(methods):
                continue
            raise error from None
    raise AssertionError("unreachable")


def _try_the_next(error: TokenError, method: str) -> bool:
    """Whether a refusal is of the client authentication `method`: 401 or invalid_client (RFC 6749
    §5.2), or, for Basic, invalid_request (a server that reads the client's credentials only from the body)."""
    return error.client_auth_rejected or (method == BASIC and error.error == "invalid_request")


def _token_error(e: Exception, record: ClientRecord, status: int | None, sent: tuple[str, ...]) -> TokenError:
    """One line for a failed token request. The server's `error` and `error_description` are printed
    only without control characters, and not at all when they echo a value the request sent."""
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    from ..bounded_http import ResponseRefused

    if isinstance(e, ResponseRefused):
        return TokenError(f"token endpoint {record.token_endpoint} {e.reason}")
    if isinstance(e, OAuth2Error):
        error = str(e.error)
        if error == "missing_token" and status and status >= 400:
            return TokenError(f"token endpoint {record.token_endpoint} answered HTTP {status}", None, status == 401)
        shown = untrusted_text(error, sent, 80)
        if shown is None:
            return TokenError(
                f"token endpoint {record.token_endpoint} refused the request (its error text repeats what was "
                "sent, so it is not shown)",
                error,
                status == 401,
            )
        message = f"token endpoint error: {shown}"
        description = untrusted_text(str(e.description or ""), sent)
        if description and description != shown:
            message += f" ({description})"
        return TokenError(message, error, status == 401 or error == "invalid_client")
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError

    if isinstance(e, InsecureTransportError):
        return TokenError(f"token endpoint {record.token_endpoint} must use https")
    import requests

    if isinstance(e, requests.RequestException):
        return TokenError(f"cannot reach the token endpoint {record.token_endpoint}: {describe_failure(e)}")
    return TokenError(f"token request failed: {type(e).__name__}")


MAX_EXPIRES_IN_SECONDS = 10 * 365 * 24 * 3600  # a longer lifetime is as good as none: refresh on a 401


def _checked_expires_in(response: Any) -> Any:
    """RFC 6749 §5.1 makes `expires_in` a number of seconds; oauthlib turns anything else into a
    ValueError or OverflowError after the code was spent. A number (or numeric string) is kept as whole
    seconds; one beyond ten years and anything that is not a finite number are dropped (expiry
    unknown), so the token is stored either way. Token.from_response reads a negative one as expired."""
    import json
    import math
    from urllib.parse import parse_qsl

    try:
        data = json.loads(response.text)
    except (ValueError, RecursionError):  # oauthlib then reads the body as a form, and so do we
        data = dict(parse_qsl(response.text))
    if not isinstance(data, dict) or "expires_in" not in data:
        return response
    raw = data["expires_in"]
    try:
        seconds = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds > MAX_EXPIRES_IN_SECONDS:
        del data["expires_in"]
    elif seconds != raw or not isinstance(raw, int):
        data["expires_in"] = int(seconds)
    else:
        return response
    response._content = json.dumps(data).encode()
    return response
