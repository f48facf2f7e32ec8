"""The one authorize flow, whatever the client's origin: choose the client (pre-registered from the
catalog, a stored DCR client, or a new registration), then PKCE in the browser, the callback, the token
request and storage. Also revoke and the list of authorizations."""

from __future__ import annotations

import re
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ..catalog.schema import Server
from ..errors import DockerMcpError
from ..output import redact_credentials
from ..secrets.resolver import SecretSources, resolve_secret
from ..secrets.store import CredentialStore
from . import providers
from .callback import DEFAULT_HOST, CallbackServer, ExpectedIssuer, choose_redirect
from .clients import (
    CIMD,
    DCR,
    PRE_REGISTERED,
    ClientRecord,
    delete_client,
    load_client,
    save_client,
    stored_client_servers,
)
from .discovery import Discovery, discover, resource_covers, same_issuer
from .errors import CallbackError, OAuthError, TokenError
from .http import check_url, describe_failure, new_session
from .registration import GO_PLUGIN_REDIRECT_URI, metadata_document_client, register, still_registered
from .tokens import Token, delete_token, load_token, save_token, token_key

Print = Callable[[str], None]
DEFAULT_TIMEOUT_SECONDS = 300
BROWSER_EXIT_SECONDS = 10  # how long authorize waits, at its end, for a browser command still running


@dataclass(frozen=True)
class AuthorizeOptions:
    scopes: str | None = None  # space separated; replaces the catalog's and the discovered scopes
    open_browser: bool = False
    callback_port: int | None = None
    callback_host: str | None = None  # localhost, 127.0.0.1 or ::1; replaces the catalog's oauth.redirectHost
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    dcr_enabled: bool = True


def secret_lookup(server: Server, sources: SecretSources) -> Callable[[ClientRecord], str | None]:
    """How the token endpoint gets the client secret: a DCR-issued one from the record, a pre-registered
    one through the resolver chain (by the name the catalog gives), resolved when it is needed."""

    def lookup(record: ClientRecord) -> str | None:
        if record.client_secret:
            return record.client_secret
        if not record.client_secret_ref:
            return None
        declared = server.secret(record.client_secret_ref)
        return resolve_secret(record.client_secret_ref, declared.env if declared else None, sources).value

    return lookup


def _remote_url(server: Server) -> str:
    if server.type != "remote" or not server.remote.url:
        raise OAuthError(f"{server.name} is not a remote server with a remote.url: only remote servers use OAuth")
    return server.remote.url


def authorize(
    server: Server,
    store: CredentialStore,
    sources: SecretSources,
    options: AuthorizeOptions,
    out: Print,
    warn: Print,
) -> Token:
    name = server.name
    url = _remote_url(server)
    out(f"Starting OAuth authorization for {name}...")
    credentials = server.oauth.credentials if server.oauth else None
    if credentials is not None and is_placeholder(credentials.client_id):  # before anything reaches the provider
        warn(
            f"! {name}: clientId {credentials.client_id!r} looks like a placeholder, which the provider will refuse: "
            "put your app's client ID in the catalog entry (oauth.credentials.clientId) and import it again"
        )
    if uses_client_credentials(server):  # a machine client: no browser, no callback
        return authorize_client_credentials(server, store, sources, options.scopes, out)
    redirect = choose_redirect(
        server.oauth.credentials.redirect_uri if server.oauth and server.oauth.credentials else None,
        options.callback_port,
        warn,
        options.callback_host or (server.oauth.redirect_host if server.oauth else "") or DEFAULT_HOST,
    )
    http = new_session()
    previous = load_client(store, name)
    record, discovery = _choose_client(server, url, redirect.uri, previous, http, store, options, out)
    if not record.authorization_endpoint:
        raise OAuthError(
            f"the authorization server of {name} names no authorization_endpoint (RFC 8414 §2): it offers no "
            "sign-in in a browser; set oauth.credentials.authorizationEndpoint, or grantType: client_credentials "
            "for a machine client"
        )
    advertised = discovery.metadata.token_endpoint_auth_methods_supported if discovery else ()
    lookup = secret_lookup(server, sources)
    if record.client_secret_ref:
        lookup(record)  # fail now, not after the browser step, when the secret is not set anywhere

    scopes = tuple(options.scopes.split()) if options.scopes is not None else record.scopes
    if (
        options.scopes is None
        and previous is not None
        and previous.challenged_scopes
        and (previous.client_id, previous.token_endpoint) == (record.client_id, record.token_endpoint)
    ):
        # a 403 insufficient_scope asked for more: what was asked for before, and that (SEP-2350)
        scopes = tuple(dict.fromkeys((*previous.scopes, *scopes, *previous.challenged_scopes)))
        out(
            f"Asking for the scope {' '.join(previous.challenged_scopes)} as well: {name} answered 403 insufficient_scope"
        )
    record = replace(record, scopes=scopes, challenged_scopes=())
    from .token_endpoint import exchange_code, oauth_session

    session = oauth_session(record, scopes)
    resource = record.resource_url or url
    parameters = providers.authorization_parameters(
        record.authorization_endpoint, server.oauth.authorization_parameters if server.oauth else {}
    )
    auth_url, state = session.authorization_url(record.authorization_endpoint, resource=resource)
    if parameters:  # appended as given: as keyword arguments, names such as `url` would be oauthlib's own
        auth_url += "&" + urlencode(parameters)
    browser: threading.Thread | None = None
    try:
        with CallbackServer(redirect, state, expected_issuer(record, discovery)) as callback:
            if options.open_browser:
                out(
                    f"Opening your browser for authentication. If it doesn't open automatically, please visit: {auth_url}"
                )
                browser = open_browser(auth_url, warn)
            else:
                out(f"Please visit this URL to authorize:\n\n  {auth_url}\n")
            out(
                f"Waiting for authorization callback on {redirect.uri}... "
                f"(for {options.timeout:g} s at most; --timeout SECONDS to change)"
            )
            code = callback.wait(options.timeout)
            try:  # the browser's page waits for this: it says "successful" only once the token is stored
                out("Exchanging authorization code for access token...")
                response, method = exchange_code(session, record, code, lookup, advertised, resource)
                token = Token.from_response(response)
                if not token.access_token:
                    raise OAuthError(f"the token endpoint of {name} answered without an access_token")
                if previous is not None and previous.authorization_endpoint != record.authorization_endpoint:
                    delete_token(store, previous)  # the old token's key would otherwise linger
                record = record.with_auth_method(method)
                save_client(store, record)
                save_token(store, record, token)
            except BaseException as e:
                callback.finish(False, failure_reason(e))
                raise
            callback.finish(True)
    except (CallbackError, TokenError) as e:
        raise forget_refused_client(store, record, previous, e) from None
    finally:
        if browser is not None:
            browser.join(BROWSER_EXIT_SECONDS)  # a browser command that waits for its page: let it end
    out("Authorization successful! Token stored securely.")
    return token


# RFC 6749 §4.1.2.1 and §5.2: the authorization server does not know the client (or no longer lets it in)
REFUSED_CLIENT = {"callback": ("invalid_client", "unauthorized_client"), "token": ("invalid_client",)}


_PLACEHOLDER = re.compile(
    r"""(?ix) ^(?: your[-_ .].* | .*[-_ .]here | <.*> | \[.*\] | \$\{.*\} | \{\{.*\}\} | \$[a-z_][a-z0-9_]*
    | client[-_ ]?id | (?:insert|replace|change|put)[-_ ]?(?:me|your|client|it).* | placeholder | todo | tbd
    | x{3,} | \*+ | \.{3} | example | dummy | (?:my|the)[-_ ]?client[-_ ]?id )$"""
)


def is_placeholder(client_id: str) -> bool:
    """Whether a catalog's clientId is a template's placeholder rather than an app's ID:
    `your-slack-client-id`, `<client-id>`, `CLIENT_ID`, `${CLIENT_ID}`, `{{client_id}}`, `xxxx`,
    `replace-me`, `client-id-here`. Upper-case words joined by `_` (`SLACK_CLIENT_ID`) count too: no
    provider issues such IDs."""
    text = client_id.strip()
    if re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_?ID", text):
        return True
    return bool(_PLACEHOLDER.match(text))


def forget_refused_client(
    store: CredentialStore, record: ClientRecord, previous: ClientRecord | None, error: CallbackError | TokenError
) -> OAuthError:
    """The error to report for a failed authorization response or token request. When it says the
    authorization server does not know a DCR client (`invalid_client`; at the authorization endpoint also
    `unauthorized_client`) — a server that keeps its registrations in memory forgets them when it
    restarts — the client record and its token are deleted, so that the next `oauth authorize` registers
    again (a client registered just now and not yet stored leaves the stored client and token alone);
    the code of this authorization cannot be used by another client, so this one cannot go on."""
    where = "callback" if isinstance(error, CallbackError) else "token"
    if record.client_type != DCR or error.error not in REFUSED_CLIENT[where]:
        return error
    stored = load_client(store, record.server_name)
    if stored is not None and stored.client_id == record.client_id:  # not a client and token it was to replace
        delete_token(store, record)
        delete_client(store, record.server_name)
    reused = previous is not None and previous.client_id == record.client_id
    which = "no longer knows the registered client" if reused else "refused the client it registered just now:"
    return type(error)(
        f"{error}: the authorization server {which} {record.client_id} ({error.error}); it is forgotten: run "
        f"'docker mcp oauth authorize {record.server_name}' again to register a new one",
        error.error,
    )


def open_browser(url: str, warn: Print) -> threading.Thread:
    """Python's webbrowser (so $BROWSER) opens `url`, in a thread: a browser command that returns only
    when its page has loaded would otherwise wait for the callback page, which waits for the token
    request, which waits for the command. Warns when no browser could be opened."""

    def run() -> None:
        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
        if not opened:
            warn("! Could not open a browser: visit the URL above")

    thread = threading.Thread(target=run, name="oauth-browser", daemon=True)
    thread.start()
    return thread


def failure_reason(error: BaseException) -> str:
    """One line for the browser's page about a failed token request or storage: our errors' own first
    line (they never hold a secret), else only the kind of failure."""
    if isinstance(error, DockerMcpError):
        return str(error).strip().split("\n", 1)[0]
    if isinstance(error, KeyboardInterrupt):
        return "the authorization was interrupted"
    return f"unexpected error ({type(error).__name__}): see the terminal"


def expected_issuer(record: ClientRecord, discovery: Discovery | None) -> ExpectedIssuer | None:
    """Whom the authorization response must come from (RFC 9207): the discovered authorization server,
    when the authorization request goes to its authorization endpoint. None when it goes elsewhere — both
    endpoints, or the authorization endpoint, configured in the catalog — where no issuer is known; and
    when no metadata was found (the 2025-03-26 default endpoints: the metadata's issuer is "")."""
    if discovery is None or record.authorization_endpoint != discovery.metadata.authorization_endpoint:
        return None
    if not discovery.metadata.issuer:
        return None
    metadata = discovery.metadata
    return ExpectedIssuer(metadata.issuer, metadata.authorization_response_iss_parameter_supported)


def _choose_client(
    server: Server,
    url: str,
    redirect_uri: str,
    previous: ClientRecord | None,
    http: Any,
    store: CredentialStore,
    options: AuthorizeOptions,
    out: Print,
) -> tuple[ClientRecord, Discovery | None]:
    """The client record to authorize with, and what discovery found (None when nothing was discovered:
    both endpoints configured). Without oauth.credentials: oauth.clientMetadataUrl as the client_id when
    the authorization server advertises client ID metadata documents, else DCR. A stored DCR client is
    reused only for the same resource and authorization server (SEP-2352), when it was registered with
    `redirect_uri` (among others: ours and Docker's Go plugin's, see register); otherwise a client is
    registered again — for a Go plugin record (registered with https://mcp.docker.com/oauth/callback
    alone) one that serves both plugins. A new client replacing one whose token is stored under the same
    key (docker/mcp-gateway@2bd20fe8 pkg/oauth/token_store.go:40, `<authorizationEndpoint>/<server>`) is
    stored only with its own token, at the end of authorize."""
    credentials = server.oauth.credentials if server.oauth else None
    catalog_scopes = server.oauth.scopes if server.oauth else ()
    if credentials is not None:
        out(f"Using pre-registered client {credentials.client_id} (dynamic client registration skipped)")
        discovery = None
        if not (credentials.authorization_endpoint and credentials.token_endpoint):
            discovery = discover(http, url)
        authorization_endpoint = credentials.authorization_endpoint or (
            discovery.metadata.authorization_endpoint if discovery else ""
        )
        token_endpoint = credentials.token_endpoint or (discovery.metadata.token_endpoint if discovery else "")
        if authorization_endpoint:  # none at all: authorize says so
            check_url(authorization_endpoint, "authorization endpoint")
        check_url(token_endpoint, "token endpoint")
        method = credentials.token_endpoint_auth_method or ""
        if (
            not method
            and previous is not None
            and previous.client_type == PRE_REGISTERED
            and previous.client_id == credentials.client_id
            and previous.token_endpoint == token_endpoint
        ):
            method = previous.token_endpoint_auth_method  # what worked last time
        record = ClientRecord(
            server_name=server.name,
            client_type=PRE_REGISTERED,
            client_id=credentials.client_id,
            client_secret_ref=credentials.client_secret or "",
            token_endpoint_auth_method=method,
            authorization_endpoint=authorization_endpoint,
            token_endpoint=token_endpoint,
            revocation_endpoint=(discovery.metadata.revocation_endpoint or "") if discovery else "",
            authorization_server=discovery.authorization_server if discovery else "",
            redirect_uri=redirect_uri,
            resource_url=discovery.resource if discovery else url,
            scopes=catalog_scopes or (discovery.scopes if discovery else ()),
            scopes_supported=discovery.metadata.scopes_supported if discovery else (),
            registered_at=datetime.now().astimezone().isoformat(),
        )
        return record, discovery

    discovery = None
    metadata_url = server.oauth.client_metadata_url if server.oauth else ""
    if metadata_url:  # MCP's order: pre-registered, then a client ID metadata document, then DCR
        discovery = discover(http, url)
        if discovery.metadata.client_id_metadata_document_supported:
            return _metadata_document_client(server, metadata_url, redirect_uri, previous, discovery, store, out)
    if previous is not None and previous.client_type == DCR and previous.client_id:
        if not resource_covers(previous.resource_url, url):  # the catalog now gives another server
            out(f"Registering again: the registered client was for {redact_credentials(previous.resource_url)}")
        else:
            discovery = discovery or discover(http, url)  # whose client it is, and the endpoints as they are now
            elsewhere = registered_elsewhere(previous, discovery)
            if elsewhere:  # SEP-2352: a registration is valid at the authorization server that made it only
                now = redact_credentials(discovery.authorization_server)
                out(
                    f"Registering again: the registered client belongs to {redact_credentials(elsewhere)}, and "
                    f"{server.name} now names the authorization server {now}"
                )
            elif previous.accepts_redirect_uri(redirect_uri) and still_registered(http, previous):
                out(f"Using the registered client {previous.client_id}")
                reused = _reused(previous, discovery, catalog_scopes or discovery.scopes)
                return replace(reused, redirect_uri=redirect_uri), discovery
            elif previous.accepts_redirect_uri(redirect_uri):  # RFC 7592: the server says it no longer exists
                out(
                    f"Registering again: the authorization server no longer knows the registered client "
                    f"{previous.client_id}"
                )
            elif previous.accepts_redirect_uri(GO_PLUGIN_REDIRECT_URI):  # Docker's Go plugin registered it
                out(
                    "Registering a client that serves both this plugin and Docker's Go plugin (the stored one "
                    f"accepts only {', '.join(previous.redirect_uris or (previous.redirect_uri,))})"
                )
            else:
                out(
                    f'Re-registering the client (redirect URI changed from "{previous.redirect_uri}" '
                    f'to "{redirect_uri}")...'
                )
    if not options.dcr_enabled:
        raise OAuthError(
            f"{server.name} has no pre-registered client (oauth.credentials) and dynamic client registration is "
            "disabled: run 'docker mcp feature enable mcp-oauth-dcr' or add oauth.credentials to its catalog entry"
        )
    discovery = discovery or discover(http, url)
    if not discovery.metadata.issuer:  # MCP 2025-03-26: no metadata at all
        out(
            f"No authorization server metadata for {redact_credentials(url)}: using the default endpoints "
            f"{discovery.authorization_server}/authorize, /token and /register (MCP 2025-03-26)"
        )
    out(f"Registering a client with {discovery.authorization_server} (dynamic client registration)...")
    record = register(http, server.name, discovery, redirect_uri, catalog_scopes or discovery.scopes, out)
    if previous is not None and token_key(previous) == token_key(record) and store.get(token_key(previous)):
        # the replaced client's token (the Go plugin's, say) stays paired with its client until authorize
        # stores the new client and its token together: neither plugin is left with a token that the
        # stored client cannot refresh, should this authorization fail
        return record, discovery
    save_client(store, record)  # kept even if this authorization fails: the next one reuses the client
    if previous is not None and previous.authorization_endpoint != record.authorization_endpoint:
        delete_token(store, previous)  # the replaced client's token: stored under a key nothing reads now
    return record, discovery


def _metadata_document_client(
    server: Server,
    metadata_url: str,
    redirect_uri: str,
    previous: ClientRecord | None,
    discovery: Discovery,
    store: CredentialStore,
    out: Print,
) -> tuple[ClientRecord, Discovery]:
    """The catalog's client ID metadata document URL as the client_id, at an authorization server that
    advertises `client_id_metadata_document_supported`: a stored record of it is reused as a DCR client's
    is (same URL, same authorization server), else a new one is stored. Nothing is registered."""
    scopes = (server.oauth.scopes if server.oauth else ()) or discovery.scopes
    out(f"Using the client ID metadata document {metadata_url} as the client ID (no registration)")
    if (
        previous is not None
        and previous.client_type == CIMD
        and previous.client_id == metadata_url
        and not registered_elsewhere(previous, discovery)
    ):
        return replace(_reused(previous, discovery, scopes), redirect_uri=redirect_uri), discovery
    record = metadata_document_client(server.name, metadata_url, discovery, redirect_uri, scopes)
    save_client(store, record)
    if previous is not None and previous.authorization_endpoint != record.authorization_endpoint:
        delete_token(store, previous)  # the replaced client's token: stored under a key nothing reads now
    return record, discovery


def registered_elsewhere(previous: ClientRecord, discovery: Discovery) -> str:
    """SEP-2352: the authorization server a stored DCR client was registered at, when it is not the one
    discovery names now (else ""). A record without `authorizationServer` is judged by its authorization
    endpoint."""
    if previous.authorization_server:
        same = same_issuer(previous.authorization_server, discovery.authorization_server)
        return "" if same else previous.authorization_server
    if previous.authorization_endpoint and previous.authorization_endpoint != discovery.metadata.authorization_endpoint:
        return previous.authorization_endpoint
    return ""


def _reused(previous: ClientRecord, discovery: Discovery, scopes: tuple[str, ...]) -> ClientRecord:
    """A stored DCR client of the same authorization server, with the endpoints and resource its
    discovery gives now."""
    metadata = discovery.metadata
    return replace(
        previous,
        authorization_endpoint=metadata.authorization_endpoint,
        token_endpoint=metadata.token_endpoint,
        revocation_endpoint=metadata.revocation_endpoint or "",
        resource_url=discovery.resource,
        scopes=scopes,
        scopes_supported=metadata.scopes_supported,
    )


# --- a machine client: the client_credentials grant ---


def uses_client_credentials(server: Server) -> bool:
    """Whether the catalog entry's pre-registered client uses the client_credentials grant."""
    credentials = server.oauth.credentials if server.oauth else None
    return credentials is not None and credentials.grant_type == "client_credentials"


def authorize_client_credentials(
    server: Server, store: CredentialStore, sources: SecretSources, scopes: str | None, out: Print
) -> Token:
    """A token for the entry's machine client without a browser (RFC 6749 §4.4; MCP's
    io.modelcontextprotocol/oauth-client-credentials extension, SEP-1046): discovery as for the code flow
    unless `tokenEndpoint` is configured, then grant_type=client_credentials with `resource` (RFC 8707)
    and the scopes (`scopes`, space separated, else the catalog's, else the discovered ones, plus those a
    403 insufficient_scope asked for), the client authenticated by its secret or a private_key_jwt
    assertion (RFC 7523 §2.2). Stores the client record (grantType client_credentials) and the token;
    used by `oauth authorize` and for the gateway's first token. Raises OAuthError (one line)."""
    from .token_endpoint import client_credentials, oauth_session

    name, url = server.name, _remote_url(server)
    credentials = server.oauth.credentials if server.oauth else None
    if credentials is None or credentials.grant_type != "client_credentials":
        raise OAuthError(f"{name} has no client_credentials client in its catalog entry (oauth.credentials.grantType)")
    out(f"Using pre-registered client {credentials.client_id} (client_credentials grant: no browser)")
    discovery = None if credentials.token_endpoint else discover(new_session(), url)
    metadata = discovery.metadata if discovery else None
    token_endpoint = credentials.token_endpoint or (metadata.token_endpoint if metadata else "")
    check_url(token_endpoint, "token endpoint")
    previous = load_client(store, name)
    usual = (server.oauth.scopes if server.oauth else ()) or (discovery.scopes if discovery else ())
    wanted = tuple(scopes.split()) if scopes is not None else usual
    if scopes is None and previous is not None and previous.challenged_scopes:
        wanted = tuple(dict.fromkeys((*previous.scopes, *wanted, *previous.challenged_scopes)))  # SEP-2350
        asked = " ".join(previous.challenged_scopes)
        out(f"Asking for the scope {asked} as well: {name} answered 403 insufficient_scope")
    method = credentials.token_endpoint_auth_method or ""
    same_client = previous is not None and (previous.client_id, previous.token_endpoint) == (
        credentials.client_id,
        token_endpoint,
    )
    if not method and previous is not None and same_client:
        method = previous.token_endpoint_auth_method  # what worked last time
    record = ClientRecord(
        server_name=name,
        client_type=PRE_REGISTERED,
        client_id=credentials.client_id,
        grant_type="client_credentials",
        client_secret_ref=credentials.client_secret or credentials.private_key or "",
        token_endpoint_auth_method=method,
        token_endpoint_auth_signing_alg=credentials.signing_algorithm or "",
        authorization_endpoint=metadata.authorization_endpoint if metadata else "",
        token_endpoint=token_endpoint,
        revocation_endpoint=(metadata.revocation_endpoint or "") if metadata else "",
        # the issuer as the metadata spells it: a private_key_jwt assertion's `aud` (RFC 7523 §3); none
        # for the 2025-03-26 default endpoints, whose assertion then names the token endpoint
        authorization_server=(metadata.issuer if metadata else "") if discovery else "",
        resource_url=discovery.resource if discovery else url,
        scopes=wanted,
        scopes_supported=metadata.scopes_supported if metadata else (),
        registered_at=datetime.now().astimezone().isoformat(),
    )
    out("Requesting an access token (client_credentials grant)...")
    advertised = metadata.token_endpoint_auth_methods_supported if metadata else ()
    response, used = client_credentials(
        oauth_session(record, wanted), record, secret_lookup(server, sources), advertised, record.resource_url
    )
    token = Token.from_response(response)
    if not token.access_token:
        raise OAuthError(f"the token endpoint of {name} answered without an access_token")
    if previous is not None and token_key(previous) != token_key(record):
        delete_token(store, previous)  # the old token's key would otherwise linger
    record = record.with_auth_method(used)
    save_client(store, record)
    save_token(store, record, token)
    out("Authorization successful! Token stored securely.")
    return token


# --- revoke and list ---


def revoke(
    name: str, server: Server | None, store: CredentialStore, sources: SecretSources, out: Print, warn: Print
) -> bool:
    """Revoke at the server when it publishes a revocation endpoint, then forget the token and the client
    record. Returns False when there was nothing to revoke (which is not an error)."""
    out(f"Revoking OAuth access for {name}...")
    record = load_client(store, name)
    if record is None:
        out(f"{name} was not authorized: nothing to revoke")
        return False
    token = load_token(store, record)
    if token is not None and record.revocation_endpoint:
        _revoke_at_server(
            record, token, secret_lookup(server, sources) if server else lambda r: r.client_secret or None, warn
        )
    delete_token(store, record)
    delete_client(store, name)
    out(f"OAuth access revoked for {name}")
    return True


def _revoke_at_server(
    record: ClientRecord, token: Token, lookup: Callable[[ClientRecord], str | None], warn: Print
) -> None:
    """RFC 7009: revoke the refresh token (which ends the grant), else the access token."""
    from .token_endpoint import BASIC, JWT_BEARER, NONE, POST, PRIVATE_KEY_JWT, FormEncodedBasic, client_assertion

    check_url(record.revocation_endpoint, "revocation endpoint")
    value, hint = (
        (token.refresh_token, "refresh_token") if token.refresh_token else (token.access_token, "access_token")
    )
    data = {"token": value, "token_type_hint": hint}
    auth = None
    method = record.token_endpoint_auth_method or (BASIC if record.has_secret else NONE)
    try:
        secret = lookup(record) if method != NONE else None
        if method == PRIVATE_KEY_JWT:  # the key signs an assertion; it is never sent (RFC 7523 §2.2)
            data.update(client_id=record.client_id, client_assertion_type=JWT_BEARER)
            data["client_assertion"] = client_assertion(record, secret or "")
    except OAuthError as e:
        warn(f"! Not revoked at the server ({e}); the local token is removed anyway")
        return
    if method == PRIVATE_KEY_JWT:
        pass
    elif method in (POST, NONE):
        data["client_id"] = record.client_id
        if secret:
            data["client_secret"] = secret
    else:
        auth = FormEncodedBasic(record.client_id, secret or "")
    try:
        response = new_session().post(record.revocation_endpoint, data=data, auth=auth)
    except Exception as e:
        warn(
            f"! Could not revoke at {record.revocation_endpoint}: {describe_failure(e)}; the local token is removed anyway"
        )
        return
    if response.status_code != 200:
        warn(f"! The revocation endpoint answered HTTP {response.status_code}; the local token is removed anyway")


@dataclass(frozen=True)
class Authorization:
    """One row of `oauth ls` (its JSON is docs/json/oauth-ls.schema.json)."""

    app: str
    client_type: str | None
    authorized: bool
    expires_at: str | None
    scopes: list[str]
    provider: str = ""  # the OAuth provider's name; the app's when the catalog names none
    tools: tuple[str, ...] = ()  # the tools the catalog declares for the server


def authorizations(servers: dict[str, Server], store: CredentialStore) -> list[Authorization]:
    """Every remote server with OAuth: a catalog `oauth` block, a stored client, or a stored token."""
    names = {n for n, s in servers.items() if s.type == "remote" and s.oauth is not None}
    names |= set(stored_client_servers(store))
    rows = []
    for name in sorted(names):
        record = load_client(store, name)
        token = load_token(store, record) if record is not None else None
        server = servers.get(name)
        client_type = record.client_type if record is not None else None
        if server is not None and server.oauth is not None and server.oauth.credentials is not None:
            client_type = PRE_REGISTERED
        providers = server.oauth.providers if server is not None and server.oauth is not None else ()
        rows.append(
            Authorization(
                app=name,
                client_type=client_type,
                authorized=token is not None,
                expires_at=_utc_seconds(token.expiry) if token is not None and token.expiry else None,
                scopes=token.scope.split() if token is not None else [],
                provider=providers[0].provider if providers else name,
                tools=tuple(str(t["name"]) for t in server.tools) if server is not None else (),
            )
        )
    return rows


def _utc_seconds(moment: datetime) -> str:
    """RFC 3339 in UTC to the second: 2026-07-23T12:03:05Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
