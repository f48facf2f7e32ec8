"""Where Docker's Go plugin keeps named secrets: read here, never written (issue 17).

- Now: `docker pass`, entry `docker/mcp/<NAME>` (the Secrets Engine's default realm `docker/mcp/**`),
  written with `docker pass set` and read through the Secrets Engine (docker/mcp-gateway@2bd20fe8
  cmd/docker-mcp/secret-management/secret/credstore.go:28-32 GetDefaultSecretKey, :77-90
  setDefaultSecret; secretsengine.go:21-36 GetSecrets, :38-62 GetSecret). The realm's `oauth/` and
  `oauth-dcr/` parts hold OAuth tokens and clients (credstore.go:34-42), not named secrets.
- Before docker/mcp-gateway 367e8e61: the platform's credential helper, server URL `sm_<NAME>`, username
  `mcp` (367e8e61^:cmd/docker-mcp/secret-management/secret/credstore.go:23-41; the helper is
  docker-credential-pass on Linux, -osxkeychain on macOS, -wincred on Windows: 367e8e61^:pkg/desktop/
  sockets_linux.go:47-54, sockets_darwin.go:30, sockets_windows.go:27).

A place that cannot be reached (no engine socket, an engine that does not answer in time, no helper or
an uninitialised password store) holds nothing: these are a fallback after our own store, never a
reason to fail. Values are returned to the resolver only; names and places are all anything prints.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ..errors import DockerMcpError
from .store import CredentialStore, CredentialStoreError

if TYPE_CHECKING:
    from ..desktop.secrets_engine import SecretsEngineClient

REALM = "docker/mcp/"  # realms.DockerMCPDefault without its `**`
TOKEN_REALMS = ("oauth/", "oauth-dcr/")  # under REALM: OAuth tokens and DCR clients
LEGACY_PREFIX = "sm_"
LEGACY_USERNAME = "mcp"
ENGINE_READ_TIMEOUT_SECONDS = 5.0  # after the engine's one second for its headers
READ_ONLY = "(Go plugin, read-only)"


class ReadOnlySecretError(DockerMcpError):
    """`secret rm` of a secret the Go plugin keeps: this plugin does not change them."""


class GoPlace(Protocol):
    """One place the Go plugin keeps named secrets."""

    @property
    def where(self) -> str:
        """The program that keeps them (`docker pass`, `docker-credential-pass`)."""
        ...

    @property
    def description(self) -> str:
        """What `secret ls` shows in STORE / `provider`."""
        ...

    def names(self) -> list[str]: ...

    def get(self, name: str) -> str | None: ...

    def entry(self, name: str) -> str:
        """The entry that holds `name` there (its ID or server URL)."""
        ...

    def removal(self, name: str) -> str:
        """The command that removes it."""
        ...


class EngineSecrets:
    """`docker/mcp/<NAME>` through the Secrets Engine, asked only when its socket exists."""

    where = "docker pass"
    description = f"{where} {READ_ONLY}"

    def __init__(self, engine: SecretsEngineClient) -> None:
        self.engine = engine

    def names(self) -> list[str]:
        from ..desktop.secrets_engine import SecretsEngineError

        if not os.path.exists(self.engine.socket):
            return []
        try:
            envelopes = self.engine.get_secrets(REALM + "**")
        except SecretsEngineError:
            return []
        return sorted({n for e in envelopes if (n := _engine_name(e.id)) is not None})

    def get(self, name: str) -> str | None:
        from ..desktop.secrets_engine import SecretsEngineError

        if name.startswith(TOKEN_REALMS) or not os.path.exists(self.engine.socket):
            return None
        try:
            found = self.engine.get_secret(self.entry(name))
        except SecretsEngineError:
            return None
        if found is None:
            return None
        try:
            return found.value.decode("utf-8")
        except UnicodeDecodeError:
            from .resolver import SecretSourceError

            raise SecretSourceError(f"secret {name} in {self.description} is not UTF-8 text") from None

    def entry(self, name: str) -> str:
        return REALM + name

    def removal(self, name: str) -> str:
        return f"docker pass rm {self.entry(name)}"


class LegacyHelperSecrets:
    """`sm_<NAME>` (username `mcp`) in the credential helper the Go plugin used."""

    def __init__(self, store: CredentialStore) -> None:
        self.store = store

    @property
    def where(self) -> str:
        return self.store.description

    @property
    def description(self) -> str:
        return f"{self.where} {LEGACY_PREFIX} {READ_ONLY}"

    def names(self) -> list[str]:
        from .named import valid_name

        try:
            entries = self.store.list(prefix=LEGACY_PREFIX)
        except CredentialStoreError:
            return []
        return sorted(
            k[len(LEGACY_PREFIX) :]
            for k, user in entries.items()
            if user == LEGACY_USERNAME and valid_name(k[len(LEGACY_PREFIX) :])
        )

    def get(self, name: str) -> str | None:
        try:
            found = self.store.get(self.entry(name))
        except CredentialStoreError:
            return None
        return found.secret if found is not None and found.username == LEGACY_USERNAME else None

    def entry(self, name: str) -> str:
        return LEGACY_PREFIX + name

    def removal(self, name: str) -> str:
        return f"echo {self.entry(name)} | {self.where} erase"


def go_helper() -> str:
    """The credential helper the Go plugin stored `sm_` secrets in on this platform."""
    return {"darwin": "osxkeychain", "win32": "wincred"}.get(sys.platform, "pass")


def go_places(home: str, ours: CredentialStore | None = None) -> list[GoPlace]:
    """The Go plugin's places, in the order it would read them (the engine, then the earlier `sm_`
    entries). `ours`: our opened store, reused when it is the Go plugin's helper. None in the gateway's
    container (DOCKER_MCP_IN_CONTAINER=1), which has neither."""
    if os.environ.get("DOCKER_MCP_IN_CONTAINER") == "1":
        return []
    from ..desktop.secrets_engine import SecretsEngineClient
    from .store import HelperStore

    places: list[GoPlace] = [EngineSecrets(SecretsEngineClient(home, read_timeout=ENGINE_READ_TIMEOUT_SECONDS))]
    helper = go_helper()
    legacy = ours if ours is not None and ours.description == f"docker-credential-{helper}" else None
    if legacy is None:
        try:
            legacy = HelperStore(helper)
        except CredentialStoreError:
            legacy = None
    if legacy is not None:
        places.append(LegacyHelperSecrets(legacy))
    return places


def refuse_removal(places: Sequence[GoPlace], names: Sequence[str]) -> None:
    """Raise ReadOnlySecretError, one line naming each of `names` a Go place holds and how to remove it
    there; return when none of them is the Go plugin's."""
    held = [(place, set(place.names())) for place in places] if names else []
    found = []
    for name in dict.fromkeys(names):
        place = next((p for p, listed in held if name in listed), None)
        if place is not None:
            found.append(
                f'secret "{name}" is the Go plugin\'s ({place.where} entry {place.entry(name)}) and read-only '
                f"here: remove it with '{place.removal(name)}'"
            )
    if found:
        raise ReadOnlySecretError("; ".join(found))


def _engine_name(secret_id: str) -> str | None:
    """The name of a `docker/mcp/<NAME>` secret; None for the token realms and anything else."""
    from .named import valid_name

    if not secret_id.startswith(REALM):
        return None
    name = secret_id[len(REALM) :]
    return name if not name.startswith(TOKEN_REALMS) and valid_name(name) else None
