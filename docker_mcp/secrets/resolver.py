"""Finding a secret's value: the resolver chain of PRODUCT.md §6.

1. Docker secrets: the file <dir>/<name>, dir = $DOCKER_MCP_SECRETS_DIR or /run/secrets;
2. the environment variable named by the secret's `env`;
3. the credential store (`docker mcp secret set`);
4. where Docker's Go plugin keeps it, read-only (go_plugin.py): `docker pass` `docker/mcp/<name>` through
   the Secrets Engine, then the credential helper's `sm_<name>`;
5. the .env files given to `gateway run --secrets`.

The result says where the value came from (for --verbose logs), never what it is.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import DockerMcpError
from .named import check_name, get_secret
from .store import CredentialStore, CredentialStoreError

if TYPE_CHECKING:
    from .go_plugin import GoPlace

DEFAULT_SECRETS_DIR = "/run/secrets"


class MissingSecretError(DockerMcpError):
    pass


class SecretSourceError(DockerMcpError):
    """A source that holds the secret but cannot be read (an unreadable file, a broken .env)."""


@dataclass(frozen=True)
class Resolved:
    value: str = field(repr=False)
    source: str  # e.g. "docker secret /run/secrets/x", "environment SLACK_CLIENT_SECRET"

    def __repr__(self) -> str:
        return f"Resolved(source={self.source!r})"


@dataclass(frozen=True)
class SecretSources:
    """Where to look. `store` is opened only when the earlier sources have nothing; `go_places` (the Go
    plugin's places, go_plugin.go_places) are made only when our store has nothing either."""

    secrets_dir: str = DEFAULT_SECRETS_DIR
    environ: Mapping[str, str] = field(default_factory=dict)
    store: Callable[[], CredentialStore] | None = None
    env_files: Sequence[str] = ()
    go_places: Callable[[], Sequence[GoPlace]] | None = None

    @classmethod
    def from_environment(
        cls, store: Callable[[], CredentialStore] | None, env_files: Sequence[str] = ()
    ) -> SecretSources:
        """This process's: $DOCKER_MCP_SECRETS_DIR, os.environ, and the Go plugin's places under $HOME."""

        def go_places() -> Sequence[GoPlace]:
            from ..dockercli import home_dir
            from .go_plugin import go_places as places

            ours = None
            if store is not None:
                with contextlib.suppress(CredentialStoreError):
                    ours = store()
            return places(home_dir(), ours)

        secrets_dir = os.environ.get("DOCKER_MCP_SECRETS_DIR") or DEFAULT_SECRETS_DIR
        return cls(secrets_dir, os.environ, store, env_files, go_places)


def resolve_secret(name: str, env: str | None, sources: SecretSources) -> Resolved:
    """The value of secret `name` (declared with environment variable `env`), from the first source of
    the module's list that has it. Raises MissingSecretError (none has it: how to set it),
    SecretSourceError (one has it but cannot be read), InvalidSecretNameError."""
    check_name(name)
    path = os.path.join(sources.secrets_dir, name)
    try:
        with open(path, encoding="utf-8") as f:
            return Resolved(_strip_newline(f.read()), f"docker secret {path}")
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise SecretSourceError(f"cannot read secret {name} from {path}: {reason}") from None
    if env and sources.environ.get(env):
        return Resolved(sources.environ[env], f"environment {env}")
    store_note = ""
    if sources.store is not None:
        try:
            store = sources.store()
        except CredentialStoreError as e:
            store = None
            store_note = f" (credential store unavailable: {e})"
        if store is not None:
            value = get_secret(store, name)
            if value is not None:
                return Resolved(value, f"credential store {store.description}")
    for place in sources.go_places() if sources.go_places is not None else ():
        value = place.get(name)
        if value is not None:
            return Resolved(value, f"the Go plugin's {place.where} entry {place.entry(name)} (read-only)")
    for env_file in sources.env_files:
        values = read_env_file(env_file)
        for key in (name, env):
            if key and key in values:
                return Resolved(values[key], f".env file {env_file}")
    if sources.environ.get("DOCKER_MCP_IN_CONTAINER") == "1":  # the gateway's image: no credential store
        how = (
            f"give the container the Docker secret {name} (the file {path}: 'secrets: [{name}]' in a stack or "
            f"Compose file, or docker service create --secret {name})"
        )
    else:
        how = f"run 'docker mcp secret set {name}'"
    if env:
        how += f" or export {env}=…"
    raise MissingSecretError(f"secret {name} is not set: {how}{store_note}")


def _strip_newline(value: str) -> str:
    """A Docker secret file usually ends with one newline that is not part of the value."""
    if value.endswith("\r\n"):
        return value[:-2]
    return value[:-1] if value.endswith("\n") else value


def read_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments are skipped; no quote handling (as the Go plugin)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise SecretSourceError(f"cannot read secrets file {path}: {reason}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise SecretSourceError(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value
    return values
