"""The typed server entry and catalog document, validated up front with file:line:col errors.

Every reader of catalogs (show, server ls/enable, OAuth, the gateway) goes through `parse_catalog` or
`parse_server`; nothing acts on a half-valid document.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

from ..errors import DockerMcpError, terminal_safe
from .yamldoc import plain

# The names this plugin gives the catalogs it creates (catalog create, fork, import). A catalog another tool
# wrote is read under any name: the Go plugin refuses none (docker/mcp-gateway@2bd20fe8
# cmd/docker-mcp/catalog/create.go:23-35 refuses only "docker-mcp", import.go:96 stores the file's `name` as
# is) and finds its file by store.sanitize (pkg/config/readwrite.go:158-183).
CATALOG_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# A server name is part of the credential-store keys of its OAuth client and token
# (`https://<name>.mcp-dcr`, `<authorizationEndpoint>/<name>`, user `oauth2_<name>`, a path in `pass`):
# no "/", ":" or "@", which would let one server's keys be read as another's.
SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SERVER_NAME_RULE = 'use letters, digits, ".", "_" or "-", starting with a letter or digit'
SECRET_NAME = re.compile(r"^[A-Za-z0-9._:-]+(?:/[A-Za-z0-9._:-]+)*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SERVER_TYPES = ("server", "remote", "poci")
AUTH_METHODS = ("client_secret_post", "client_secret_basic", "none", "private_key_jwt")
GRANT_TYPES = ("authorization_code", "client_credentials")  # oauth.credentials.grantType
# JWS algorithms for a private_key_jwt client assertion (RFC 7518 §3.1; EdDSA: RFC 8037)
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# Authorization-request parameters the flow sets itself (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2), and
# those that would change how the code comes back to the loopback callback (OAuth 2.0 Multiple Response Type
# Encoding Practices `response_mode`; RFC 9101 `request`, `request_uri`): oauth.authorizationParameters may
# not set them.
FLOW_PARAMETERS = (
    "response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "scope",
    "resource", "response_mode", "request", "request_uri",
)  # fmt: skip
DOCKER_CATALOG = "docker-mcp"
# Docker's own catalog has about 300 servers; every command reads every catalog in full.
MAX_SERVERS = 10_000
CREDENTIAL_KEYS = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "authorizationEndpoint": "authorization_endpoint",
    "tokenEndpoint": "token_endpoint",
    "redirectUri": "redirect_uri",
    "tokenEndpointAuthMethod": "token_endpoint_auth_method",
    "grantType": "grant_type",
    "privateKey": "private_key",
    "signingAlgorithm": "signing_algorithm",
}


class CatalogError(DockerMcpError):
    """An invalid catalog or server document; the message starts with `file:line:col: field:`."""


@dataclass(frozen=True)
class Secret:
    name: str
    env: str = ""


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str = ""


@dataclass(frozen=True)
class Remote:
    url: str = ""
    transport_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OAuthProvider:
    provider: str
    secret: str = ""
    env: str = ""


@dataclass(frozen=True)
class ClientCredentials:
    """A pre-registered OAuth client: no dynamic client registration for this server."""

    client_id: str
    client_secret: str | None = None  # the NAME of a secret in the server's `secrets`, never a value
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    redirect_uri: str | None = None
    token_endpoint_auth_method: str | None = None
    grant_type: str | None = None  # None: authorization_code; client_credentials: no browser (SEP-1046)
    private_key: str | None = None  # private_key_jwt: the NAME of a secret holding a PEM private key
    signing_algorithm: str | None = None  # private_key_jwt: the assertion's JWS alg; None: RS256


@dataclass(frozen=True)
class OAuth:
    providers: tuple[OAuthProvider, ...] = ()
    scopes: tuple[str, ...] = ()
    credentials: ClientCredentials | None = None
    redirect_host: str = ""  # the default redirect URI's loopback host; "" means 127.0.0.1
    # extra authorization-request parameters (e.g. Google's access_type), never one of FLOW_PARAMETERS
    authorization_parameters: dict[str, str] = field(default_factory=dict)
    client_metadata_url: str = ""  # a client ID metadata document's URL, used as the client_id where supported


@dataclass(frozen=True)
class Server:
    name: str  # the registry key
    type: str = ""
    image: str = ""
    description: str = ""
    title: str = ""
    icon: str = ""
    readme: str = ""
    long_lived: bool = False
    remote: Remote = field(default_factory=Remote)
    sse_endpoint: str = ""
    oauth: OAuth | None = None
    secrets: tuple[Secret, ...] = ()
    env: tuple[EnvVar, ...] = ()
    command: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    user: str = ""
    disable_network: bool = False
    allow_hosts: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    tools: tuple[dict[str, Any], ...] = ()
    config: tuple[dict[str, Any], ...] = ()
    prefix: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def secret(self, name: str) -> Secret | None:
        return next((s for s in self.secrets if s.name == name), None)


@dataclass(frozen=True)
class Catalog:
    name: str
    display_name: str
    servers: dict[str, Server]


def is_single_server(document: Any) -> bool:
    """One server at the top level: `name` plus any of type/image/remote, and no `registry`."""
    return (
        isinstance(document, dict)
        and "registry" not in document
        and "name" in document
        and any(k in document for k in ("type", "image", "remote"))
    )


def check_catalog_name(name: str, what: str = "catalog name") -> str:
    """`name` when it may name a catalog this plugin creates (CATALOG_NAME); raises CatalogError saying
    the rule. Never applied to a catalog already configured, which keeps the name it was given."""
    if not CATALOG_NAME.match(name):
        raise CatalogError(
            f'invalid {what} "{name}": use 1 to 64 lowercase letters, digits, ".", "_" or "-", '
            "starting with a letter or digit"
        )
    return name


class _Reader:
    """Walks a ruamel document, turning wrong shapes into one-line errors that point at the file."""

    def __init__(self, source: str, stored: bool = False) -> None:
        self.source = source
        # The https rule for endpoints depends on the environment at import time; a catalog already
        # stored is not refused later for it (OAuth checks every URL again before using it).
        self.allow_http = stored or insecure_urls_allowed()

    def fail(self, where: tuple[int, int] | None, path: str, problem: str) -> NoReturn:
        """Raise CatalogError `file:line:col: path: problem`, one line whatever the document holds: a
        line break in a quoted name or key is shown as \\n, other control characters are left out."""
        loc = f"{self.source}:{where[0]}:{where[1]}" if where else self.source
        message = f"{loc}: {path}: {problem}" if path else f"{loc}: {problem}"
        raise CatalogError(terminal_safe(message.replace("\r", "\\r").replace("\n", "\\n")))

    @staticmethod
    def at(node: Any, key: Any = None) -> tuple[int, int] | None:
        """1-based line and column of `node[key]` (or of `node` itself) when ruamel recorded them."""
        lc = getattr(node, "lc", None)
        if lc is None:
            return None
        try:
            if key is None:
                return (lc.line + 1, lc.col + 1)
            pos = lc.item(key) if isinstance(key, int) else lc.value(key)
            if pos is None:
                pos = lc.key(key)
            return (pos[0] + 1, pos[1] + 1)
        except (KeyError, IndexError, TypeError, AttributeError):
            return (lc.line + 1, lc.col + 1)

    def mapping(self, node: Any, path: str, where: tuple[int, int] | None) -> dict[Any, Any]:
        if not isinstance(node, dict):
            self.fail(where, path, f"must be a mapping, not {_kind(node)}")
        return node

    def text(self, parent: Any, key: Any, path: str, *, allow_numbers: bool = True) -> str:
        value = parent[key]
        if isinstance(value, str):
            return value
        if allow_numbers and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        self.fail(self.at(parent, key), path, f"must be a string, not {_kind(value)}")

    def flag(self, parent: Any, key: Any, path: str) -> bool:
        value = parent[key]
        if not isinstance(value, bool):
            self.fail(self.at(parent, key), path, f"must be true or false, not {_kind(value)}")
        return value

    def seq(self, parent: Any, key: Any, path: str) -> list[Any]:
        value = parent[key]
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(self.at(parent, key), path, f"must be a list, not {_kind(value)}")
        return value

    def texts(self, parent: Any, key: Any, path: str) -> tuple[str, ...]:
        items = self.seq(parent, key, path)
        return tuple(self.text(items, i, f"{path}[{i}]") for i in range(len(items)))

    def free_form(self, node: Any, path: str) -> Any:
        """A section the schema leaves open (tools, config, metadata) as plain data; only numbers JSON
        cannot carry (.nan, .inf) are refused."""
        if isinstance(node, dict):
            for key, value in node.items():
                self._finite(node, key, value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._finite(node, i, value, f"{path}[{i}]")
        return plain(node)

    def _finite(self, parent: Any, key: Any, value: Any, path: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(self.at(parent, key), path, "must be a finite number (.nan and .inf have no JSON form)")
        if isinstance(value, dict | list):
            self.free_form(value, path)

    def maps(self, parent: Any, key: Any, path: str) -> list[dict[Any, Any]]:
        items = self.seq(parent, key, path)
        return [self.mapping(items[i], f"{path}[{i}]", self.at(items, i)) for i in range(len(items))]


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number (quote it to keep every digit)"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def parse_document(document: Any, source: str, *, creates: bool = True) -> Catalog:
    """A catalog document, or a single-server document as the catalog named after its server.
    `creates`: the document's name is that of a catalog about to be created here (import), so it must follow
    CATALOG_NAME; False reads any name (a file whose servers are copied, a catalog refreshed or given to the
    gateway). Raises CatalogError (`file:line:col: field: problem`)."""
    r = _Reader(source)
    if document is None:
        r.fail(None, "", "the file is empty; a catalog needs `name` and `registry`, a server file `name` and `type`")
    r.mapping(document, "", (1, 1))
    if is_single_server(document):
        name = r.text(document, "name", "name")
        check_server_name(r, document, name)
        server = parse_server(document, name, source, prefix="")
        if creates:
            check_catalog_name_at(r, document, "name", name, "server name (it names the catalog)")
        return Catalog(name, server.title or name, {name: server})
    return parse_catalog(document, source, creates=creates)


def check_server_name(r: _Reader, parent: Any, name: str) -> None:
    if not SERVER_NAME.fullmatch(name):
        r.fail(r.at(parent, "name"), "name", f'"{name}" is not a valid server name: {SERVER_NAME_RULE}')


def _key_at(node: Any, key: Any) -> tuple[int, int] | None:
    """1-based line and column of a mapping's key (a bad server name points at itself, not its entry)."""
    try:
        line, col = node.lc.key(key)
        return (line + 1, col + 1)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def check_catalog_name_at(r: _Reader, parent: Any, key: str, name: str, what: str) -> None:
    try:
        check_catalog_name(name, what)
    except CatalogError as e:
        r.fail(r.at(parent, key), key, str(e))


def parse_catalog(document: Any, source: str, stored: bool = False, *, creates: bool = True) -> Catalog:
    """A catalog document (`name`, `displayName`, `registry`). `stored`: a file under ~/.docker/mcp/catalogs;
    `creates`: its name must follow CATALOG_NAME (see parse_document). Raises CatalogError."""
    r = _Reader(source, stored)
    if document is None:
        return Catalog("", "", {})
    doc = r.mapping(document, "", (1, 1))
    name = r.text(doc, "name", "name") if doc.get("name") is not None else ""
    if name and creates:
        check_catalog_name_at(r, doc, "name", name, "catalog name")
    display = r.text(doc, "displayName", "displayName") if doc.get("displayName") is not None else ""
    servers: dict[str, Server] = {}
    registry = doc.get("registry")
    if registry is not None:
        reg = r.mapping(registry, "registry", r.at(doc, "registry"))
        if len(reg) > MAX_SERVERS:
            r.fail(
                r.at(doc, "registry"),
                "registry",
                f"{len(reg)} servers is more than a catalog may hold ({MAX_SERVERS}); split it into several catalogs",
            )
        for key in reg:
            if not isinstance(key, str) or not SERVER_NAME.fullmatch(key):
                r.fail(
                    _key_at(reg, key) or r.at(reg, key),
                    f"registry.{key}",
                    f"is not a valid server name: {SERVER_NAME_RULE}",
                )
            entry = r.mapping(reg[key], f"registry.{key}", r.at(reg, key))
            servers[key] = parse_server(entry, key, source, prefix=f"registry.{key}.", stored=stored)
    return Catalog(name, display or name, servers)


def parse_server(entry: Any, name: str, source: str, prefix: str = "", stored: bool = False) -> Server:
    """One server entry (a catalog's `registry.<name>`, or a whole single-server file)."""
    r = _Reader(source, stored)
    m = r.mapping(entry, prefix.rstrip("."), None)
    kw: dict[str, Any] = {"name": name}

    def p(key: str) -> str:
        return prefix + key

    for key, attr in (
        ("type", "type"),
        ("image", "image"),
        ("description", "description"),
        ("title", "title"),
        ("icon", "icon"),
        ("readme", "readme"),
        ("sseEndpoint", "sse_endpoint"),
        ("user", "user"),
        ("prefix", "prefix"),
    ):
        if m.get(key) is not None:
            kw[attr] = r.text(m, key, p(key))
    for key, attr in (("longLived", "long_lived"), ("disableNetwork", "disable_network")):
        if m.get(key) is not None:
            kw[attr] = r.flag(m, key, p(key))
    for key, attr in (("command", "command"), ("volumes", "volumes"), ("allowHosts", "allow_hosts"),
                      ("extraHosts", "extra_hosts")):  # fmt: skip
        if key in m:
            kw[attr] = r.texts(m, key, p(key))
    if kw.get("type", "") not in ("", *SERVER_TYPES):
        r.fail(r.at(m, "type"), p("type"), f'"{kw["type"]}" is not a server type; use one of {", ".join(SERVER_TYPES)}')
    if m.get("remote") is not None:
        kw["remote"] = _remote(r, m, p("remote"))
    if "secrets" in m:
        kw["secrets"] = _secrets(r, m, p("secrets"))
    if "env" in m:
        kw["env"] = tuple(
            EnvVar(_required_text(r, item, "name", f"{p('env')}[{i}]"), _optional_text(r, item, "value", f"{p('env')}[{i}]"))
            for i, item in enumerate(r.maps(m, "env", p("env")))
        )  # fmt: skip
    if "tools" in m:
        tools = []
        for i, tool in enumerate(r.maps(m, "tools", p("tools"))):
            path = f"{p('tools')}[{i}]"
            entry = r.free_form(tool, path)
            entry["name"] = _required_text(r, tool, "name", path)
            if "description" in tool:
                entry["description"] = _optional_text(r, tool, "description", path)
            tools.append(entry)
        kw["tools"] = tuple(tools)
    if "config" in m:
        kw["config"] = tuple(
            r.free_form(c, f"{p('config')}[{i}]") for i, c in enumerate(r.maps(m, "config", p("config")))
        )
    if m.get("metadata") is not None:
        kw["metadata"] = r.free_form(r.mapping(m["metadata"], p("metadata"), r.at(m, "metadata")), p("metadata"))
    if m.get("oauth") is not None:
        kw["oauth"] = _oauth(r, m, p("oauth"), kw)
    return Server(**kw)


def _required_text(r: _Reader, parent: Any, key: str, path: str) -> str:
    if parent.get(key) is None or parent.get(key) == "":
        r.fail(r.at(parent, key) if key in parent else r.at(parent), f"{path}.{key}", "must be a non-empty string")
    return r.text(parent, key, f"{path}.{key}")


def _optional_text(r: _Reader, parent: Any, key: str, path: str) -> str:
    if parent.get(key) is None:
        return ""
    value = parent[key]
    if isinstance(value, int | float) and not isinstance(value, bool):  # env values may be unquoted numbers
        return str(value)
    return r.text(parent, key, f"{path}.{key}")


def _remote(r: _Reader, m: Any, path: str) -> Remote:
    remote = r.mapping(m["remote"], path, r.at(m, "remote"))
    url = _optional_text(r, remote, "url", path)
    if url and not _is_web_url(url):
        r.fail(r.at(remote, "url"), f"{path}.url", "must be an absolute http(s) URL")
    headers: dict[str, str] = {}
    if remote.get("headers") is not None:
        raw = r.mapping(remote["headers"], f"{path}.headers", r.at(remote, "headers"))
        for k in raw:
            headers[str(k)] = r.text(raw, k, f"{path}.headers.{k}")
    return Remote(url, _optional_text(r, remote, "transport_type", path), headers)


def _secrets(r: _Reader, m: Any, path: str) -> tuple[Secret, ...]:
    secrets = []
    for i, item in enumerate(r.maps(m, "secrets", path)):
        name = _required_text(r, item, "name", f"{path}[{i}]")
        if not SECRET_NAME.match(name):
            r.fail(
                r.at(item, "name"),
                f"{path}[{i}].name",
                f'"{name}" is not a valid secret name; use letters, digits and ._:- ',
            )
        env = _optional_text(r, item, "env", f"{path}[{i}]")
        if env and not ENV_NAME.match(env):
            r.fail(r.at(item, "env"), f"{path}[{i}].env", f'"{env}" is not a valid environment variable name')
        secrets.append(Secret(name, env))
    return tuple(secrets)


OAUTH_KEYS = ("providers", "scopes", "credentials", "clientMetadataUrl", "redirectHost", "authorizationParameters")


def _misspelt(key: object, known: tuple[str, ...]) -> str | None:
    """The known key an unknown one is a near miss of (`redirect_host`, `clientMetadataURL`,
    `authorizationParams`), else None: other unknown keys are left alone, as the Go plugin leaves them
    (a catalog may carry keys a newer version reads), but a typo of ours must not be ignored silently."""
    import difflib

    if not isinstance(key, str) or key in known:
        return None
    flat = {k.lower().replace("_", "").replace("-", ""): k for k in known}
    close = difflib.get_close_matches(key.lower().replace("_", "").replace("-", ""), list(flat), n=1, cutoff=0.85)
    return flat[close[0]] if close else None


def _oauth(r: _Reader, m: Any, path: str, server: dict[str, Any]) -> OAuth:
    oauth = r.mapping(m["oauth"], path, r.at(m, "oauth"))
    for key in oauth:
        meant = _misspelt(key, OAUTH_KEYS)
        if meant is not None:
            r.fail(_key_at(oauth, key) or r.at(oauth, key), f"{path}.{key}", f"unknown key: did you mean {meant}?")
    providers = tuple(
        OAuthProvider(
            _required_text(r, item, "provider", f"{path}.providers[{i}]"),
            _optional_text(r, item, "secret", f"{path}.providers[{i}]"),
            _optional_text(r, item, "env", f"{path}.providers[{i}]"),
        )
        for i, item in enumerate(r.maps(oauth, "providers", f"{path}.providers") if "providers" in oauth else [])
    )
    scopes = r.texts(oauth, "scopes", f"{path}.scopes") if "scopes" in oauth else ()
    credentials = None
    if oauth.get("credentials") is not None:
        credentials = _credentials(r, oauth, f"{path}.credentials", server)
    elif "credentials" in oauth:
        r.fail(r.at(oauth, "credentials"), f"{path}.credentials", "must be a mapping with at least clientId")
    if server.get("type") != "remote" or not server.get("remote", Remote()).url:
        for key in ("clientMetadataUrl", "redirectHost", "authorizationParameters"):  # the browser flow's
            if oauth.get(key) is not None:
                r.fail(r.at(oauth, key), f"{path}.{key}", "is for a `type: remote` server with a `remote.url` only")
    return OAuth(
        providers,
        scopes,
        credentials,
        redirect_host=_redirect_host(r, oauth, path, credentials),
        authorization_parameters=_authorization_parameters(r, oauth, path),
        client_metadata_url=_client_metadata_url(r, oauth, path, credentials),
    )


def is_client_metadata_url(value: str) -> bool:
    """Whether `value` can be a client identifier URL (draft-ietf-oauth-client-id-metadata-document §3):
    https, a host, a path other than "/" without "." or ".." segments, no fragment, no user name or
    password (a query is allowed)."""
    if any(c.isspace() or not c.isprintable() for c in value):
        return False
    parts = _split(value)
    if parts is None or parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return False
    segments = parts.path.split("/")
    return parts.path not in ("", "/") and "." not in segments and ".." not in segments and "#" not in value


def _client_metadata_url(r: _Reader, oauth: Any, path: str, credentials: ClientCredentials | None) -> str:
    """oauth.clientMetadataUrl: the URL of the client's metadata document (MCP authorization spec
    2025-11-25, Client ID Metadata Documents), "" when absent. A `credentials.clientId` that is such a URL
    is a public client (the document holds no secret): a `credentials.clientSecret` beside it is refused."""
    if credentials is not None and is_client_metadata_url(credentials.client_id) and credentials.client_secret:
        creds = oauth["credentials"]
        r.fail(r.at(creds, "clientSecret"), f"{path}.credentials.clientSecret",
               "a clientId that is an https URL is a client ID metadata document, a public client: remove clientSecret")  # fmt: skip
    if oauth.get("clientMetadataUrl") is None:
        return ""
    if credentials is not None:
        r.fail(r.at(oauth, "clientMetadataUrl"), f"{path}.clientMetadataUrl",
               "is not used when oauth.credentials is set (a pre-registered client wins); remove one of them")  # fmt: skip
    url = r.text(oauth, "clientMetadataUrl", f"{path}.clientMetadataUrl")
    if not is_client_metadata_url(url):
        r.fail(r.at(oauth, "clientMetadataUrl"), f"{path}.clientMetadataUrl",
               "must be an https URL with a path (not /), without spaces, fragment, user name, password or ./.. "
               "segments, e.g. https://app.example.com/oauth/client.json")  # fmt: skip
    return url


def _redirect_host(r: _Reader, oauth: Any, path: str, credentials: ClientCredentials | None) -> str:
    """oauth.redirectHost: localhost, 127.0.0.1 or ::1, the host of the redirect URI the plugin builds
    (http://HOST:PORT/callback); "" when absent."""
    if oauth.get("redirectHost") is None:
        return ""
    host = r.text(oauth, "redirectHost", f"{path}.redirectHost")
    if host == "[::1]":
        r.fail(r.at(oauth, "redirectHost"), f"{path}.redirectHost",
               "write the IPv6 loopback without brackets: ::1 (the redirect URI gets them)")  # fmt: skip
    if host not in LOOPBACK_HOSTS:
        shown = host if host.isprintable() and len(host) <= 64 else "this value"
        r.fail(r.at(oauth, "redirectHost"), f"{path}.redirectHost",
               f'"{shown}" is not a loopback host; use localhost, 127.0.0.1 or ::1')  # fmt: skip
    if credentials is not None and credentials.redirect_uri is not None:
        r.fail(r.at(oauth, "redirectHost"), f"{path}.redirectHost",
               "is not used when credentials.redirectUri is set (its host is the one used); remove one of them")  # fmt: skip
    return host


def _authorization_parameters(r: _Reader, oauth: Any, path: str) -> dict[str, str]:
    """oauth.authorizationParameters: a mapping of string to string added to the authorization request,
    without the parameters the flow sets (FLOW_PARAMETERS)."""
    if oauth.get("authorizationParameters") is None:
        return {}
    where = f"{path}.authorizationParameters"
    raw = r.mapping(oauth["authorizationParameters"], where, r.at(oauth, "authorizationParameters"))
    parameters: dict[str, str] = {}
    for key in raw:
        if not isinstance(key, str) or not key:
            r.fail(_key_at(raw, key) or r.at(raw, key), f"{where}.{key}", "a parameter name must be a non-empty string")
        if key in FLOW_PARAMETERS:
            also = " (oauth.scopes gives the scopes)" if key == "scope" else ""
            why = ("would change how the authorization code comes back to the loopback callback"
                   if key in ("response_mode", "request", "request_uri") else "is set by the authorization flow itself")  # fmt: skip
            r.fail(_key_at(raw, key) or r.at(raw, key), f"{where}.{key}", f"{why}; remove it{also}")
        parameters[key] = r.text(raw, key, f"{where}.{key}")
    return parameters


def _credentials(r: _Reader, oauth: Any, path: str, server: dict[str, Any]) -> ClientCredentials:
    creds = r.mapping(oauth["credentials"], path, r.at(oauth, "credentials"))
    for key in creds:
        if key not in CREDENTIAL_KEYS:
            r.fail(r.at(creds, key), f"{path}.{key}", f"unknown key; use {', '.join(CREDENTIAL_KEYS)}")
    if server.get("type") != "remote" or not server.get("remote", Remote()).url:
        r.fail(
            r.at(oauth, "credentials"),
            path,
            "a pre-registered client needs a `type: remote` server with a `remote.url`",
        )
    if not isinstance(creds.get("clientId"), str) or not creds["clientId"].strip():
        where = r.at(creds, "clientId") if "clientId" in creds else r.at(oauth, "credentials")
        problem = "must be a non-empty string"
        if isinstance(creds.get("clientId"), int | float) and not isinstance(creds.get("clientId"), bool):
            problem += " (quote it: a client ID is not a number)"
        r.fail(where, f"{path}.clientId", problem)
    values: dict[str, Any] = {"client_id": creds["clientId"]}
    for key in (k for k in CREDENTIAL_KEYS if k != "clientId"):  # every other key is a non-empty string
        if creds.get(key) is not None:
            value = creds[key]
            if not isinstance(value, str) or not value:
                # the value itself is never echoed: it may be a secret pasted in the wrong place
                r.fail(r.at(creds, key), f"{path}.{key}", "must be a non-empty string")
            values[CREDENTIAL_KEYS[key]] = value
    c = ClientCredentials(**values)
    secret_names = [s.name for s in server.get("secrets", ())]
    if c.client_secret is not None and c.client_secret not in secret_names:
        suggestion = f"{server['name']}.client_secret"
        r.fail(
            r.at(creds, "clientSecret"),
            f"{path}.clientSecret",
            "must be the name of a secret declared in this server's `secrets`, never the secret itself; "
            f"declare one (secrets: [{{name: {suggestion}, env: CLIENT_SECRET}}]), put its name here, "
            f"and set its value with 'docker mcp secret set {suggestion}'",
        )
    for key in ("authorizationEndpoint", "tokenEndpoint"):
        url = values.get(CREDENTIAL_KEYS[key])
        if url is not None and not _is_allowed_endpoint(url, r.allow_http):
            r.fail(
                r.at(creds, key),
                f"{path}.{key}",
                "must be an absolute https URL (plain http only with DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1)",
            )
    if c.redirect_uri is not None:
        redirect_problem = _redirect_problem(c.redirect_uri)
        if redirect_problem:
            r.fail(r.at(creds, "redirectUri"), f"{path}.redirectUri", redirect_problem)
    method = c.token_endpoint_auth_method
    if method is not None:
        if method not in AUTH_METHODS:
            r.fail(r.at(creds, "tokenEndpointAuthMethod"), f"{path}.tokenEndpointAuthMethod",
                   f'"{method}" is not supported; use {", ".join(AUTH_METHODS)}')  # fmt: skip
        if method == "none" and c.client_secret is not None:
            r.fail(r.at(creds, "tokenEndpointAuthMethod"), f"{path}.tokenEndpointAuthMethod",
                   "is none (a public client) but clientSecret is set; remove one of them")  # fmt: skip
        if method not in ("none", "private_key_jwt") and c.client_secret is None:
            r.fail(r.at(creds, "tokenEndpointAuthMethod"), f"{path}.tokenEndpointAuthMethod",
                   f"{method} needs a clientSecret (the name of a secret in `secrets`)")  # fmt: skip
    _machine_client(r, oauth, creds, path, c, secret_names, str(server["name"]))
    return c


def _machine_client(
    r: _Reader, oauth: Any, creds: Any, path: str, c: ClientCredentials, secret_names: list[str], name: str
) -> None:
    """grantType, privateKey and signingAlgorithm: the client_credentials grant (RFC 6749 §4.4; SEP-1046)
    with a client secret or a private_key_jwt assertion (RFC 7523 §2.2), and nothing of the browser step."""
    method = c.token_endpoint_auth_method

    def fail(key: str, problem: str) -> NoReturn:
        r.fail(r.at(creds, key), f"{path}.{key}", problem)

    if c.grant_type is not None and c.grant_type not in GRANT_TYPES:
        fail("grantType", f"must be {' or '.join(GRANT_TYPES)}")
    if c.private_key is not None and c.private_key not in secret_names:
        fail("privateKey", "must be the name of a secret declared in this server's `secrets`, never the key itself; "
             f"declare one (secrets: [{{name: {name}.private_key}}]), put its name here, and set the PEM key "
             f"with 'docker mcp secret set {name}.private_key < key.pem'")  # fmt: skip
    if method == "private_key_jwt":
        if c.client_secret is not None:
            fail("tokenEndpointAuthMethod", "is private_key_jwt (signed with privateKey) but clientSecret is set; "
                 "remove one of them")  # fmt: skip
        if c.private_key is None:
            fail("tokenEndpointAuthMethod", "private_key_jwt needs a privateKey (the name of a secret in `secrets` "
                 "holding the PEM private key)")  # fmt: skip
        if c.grant_type != "client_credentials":
            fail("tokenEndpointAuthMethod", "private_key_jwt is supported with grantType: client_credentials only")
    elif c.private_key is not None:
        fail("privateKey", "is used only with tokenEndpointAuthMethod: private_key_jwt; add that, or remove privateKey")
    if c.signing_algorithm is not None:
        if method != "private_key_jwt":
            fail("signingAlgorithm", "is used only with tokenEndpointAuthMethod: private_key_jwt")
        if c.signing_algorithm not in SIGNING_ALGORITHMS:
            fail("signingAlgorithm", f"must be one of {', '.join(SIGNING_ALGORITHMS)}")
    if c.grant_type != "client_credentials":
        return
    if c.client_secret is None and c.private_key is None:
        fail("grantType", "client_credentials needs a clientSecret, or a privateKey with tokenEndpointAuthMethod: "
             "private_key_jwt (a public client cannot use this grant)")  # fmt: skip
    for key in ("authorizationEndpoint", "redirectUri"):
        if key in creds:
            fail(key, "is not used with grantType: client_credentials (there is no browser step); remove it")
    for key in ("redirectHost", "authorizationParameters"):
        if oauth.get(key) is not None:
            r.fail(r.at(oauth, key), f"{path.rsplit('.', 1)[0]}.{key}",
                   "is not used with credentials.grantType: client_credentials (there is no browser step); remove it")  # fmt: skip


def insecure_urls_allowed() -> bool:
    """DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1 (or true): plain http and loopback hosts, for local testing."""
    return os.environ.get("DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS", "").lower() in ("1", "true")


def _split(url: str) -> Any:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
        return parts
    except ValueError:  # e.g. "http://[not-an-ipv6" or a port that is not a number
        return None


def _is_web_url(url: str) -> bool:
    parts = _split(url)
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_allowed_endpoint(url: str, allow_http: bool) -> bool:
    parts = _split(url)
    if parts is None or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and allow_http)


def _redirect_problem(uri: str) -> str | None:
    parts = _split(uri)
    if parts is None and _bad_port_only(uri):
        return "has an invalid port: give a number from 1 to 65535, e.g. http://localhost:3118/callback"
    if parts is None or parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        return "must be an http URL on a loopback host (localhost, 127.0.0.1 or [::1]), e.g. http://localhost:3118/callback"
    if not parts.port:
        return "needs an explicit port (http://localhost:PORT/path): the callback server listens on exactly that port"
    return None


def _bad_port_only(uri: str) -> bool:
    """An http URL on a loopback host whose only fault is its port (out of range, not a number)."""
    try:
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    except ValueError:
        return False


def server_json(s: Server) -> dict[str, Any]:
    """The entry as `catalog show --format json` prints it: the catalog keys in the Go plugin's order,
    empty ones left out except type, image and remote."""
    out: dict[str, Any] = {"type": s.type, "image": s.image}
    _put(out, "description", s.description)
    _put(out, "title", s.title)
    _put(out, "icon", s.icon)
    _put(out, "readme", s.readme)
    _put(out, "longLived", s.long_lived)
    remote: dict[str, Any] = {}
    _put(remote, "url", s.remote.url)
    _put(remote, "transport_type", s.remote.transport_type)
    _put(remote, "headers", dict(sorted(s.remote.headers.items())))
    out["remote"] = remote
    _put(out, "sseEndpoint", s.sse_endpoint)
    if s.oauth is not None:
        oauth: dict[str, Any] = {}
        _put(oauth, "providers", [_drop_empty(vars(p)) for p in s.oauth.providers])
        _put(oauth, "scopes", list(s.oauth.scopes))
        _put(oauth, "redirectHost", s.oauth.redirect_host)
        _put(oauth, "authorizationParameters", dict(s.oauth.authorization_parameters))
        _put(oauth, "clientMetadataUrl", s.oauth.client_metadata_url)
        if s.oauth.credentials is not None:
            c = s.oauth.credentials
            oauth["credentials"] = {
                key: getattr(c, attr) for key, attr in CREDENTIAL_KEYS.items() if getattr(c, attr) is not None
            }
        _put(out, "oauth", oauth)
    _put(out, "secrets", [{"name": x.name, "env": x.env} for x in s.secrets])
    _put(out, "env", [{"name": x.name, "value": x.value} for x in s.env])
    _put(out, "command", list(s.command))
    _put(out, "volumes", list(s.volumes))
    _put(out, "user", s.user)
    _put(out, "disableNetwork", s.disable_network)
    _put(out, "allowHosts", list(s.allow_hosts))
    _put(out, "extraHosts", list(s.extra_hosts))
    _put(out, "tools", list(s.tools))
    _put(out, "config", list(s.config))
    _put(out, "prefix", s.prefix)
    _put(out, "metadata", s.metadata)
    return out


def catalog_json(c: Catalog) -> dict[str, Any]:
    return {
        "name": c.name,
        "displayName": c.display_name,
        "registry": {name: server_json(c.servers[name]) for name in sorted(c.servers)},
    }


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value:
        out[key] = value


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v}
