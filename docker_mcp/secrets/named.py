"""Named secrets, as `docker mcp secret` manages them: `NAME` is stored in the credential store under
`https://NAME.mcp-secret` with username `mcp_secret`. The Go plugin's named secrets (go_plugin.py) are
listed with ours, read-only."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import DockerMcpError
from .store import CredentialStore

if TYPE_CHECKING:
    from .go_plugin import GoPlace

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._:-]+(?:/[A-Za-z0-9._:-]+)*$")
KEY_PREFIX = "https://"
KEY_SUFFIX = ".mcp-secret"
USERNAME = "mcp_secret"


class InvalidSecretNameError(DockerMcpError):
    pass


class SecretNotFoundError(DockerMcpError):
    pass


def valid_name(name: str) -> bool:
    """Whether `name` is a secret name: the Secrets Engine's ID rule (docker/secrets-engine
    x/secrets/identifiers.go), with no `.` or `..` part."""
    return bool(NAME_PATTERN.match(name)) and not any(part in (".", "..") for part in name.split("/"))


def check_name(name: str) -> str:
    if not valid_name(name):
        raise InvalidSecretNameError(
            f'invalid secret name "{name}": use letters, digits and . _ : - (with / between parts), '
            "e.g. slack-official.client_secret"
        )
    return name


def key_for(name: str) -> str:
    return f"{KEY_PREFIX}{check_name(name)}{KEY_SUFFIX}"


def set_secret(store: CredentialStore, name: str, value: str) -> None:
    if not value:
        raise DockerMcpError(f"refusing to store an empty value for secret {name}")
    store.put(key_for(name), USERNAME, value)


def get_secret(store: CredentialStore, name: str) -> str | None:
    found = store.get(key_for(name))
    return found.secret if found is not None else None


def list_names(store: CredentialStore) -> list[str]:
    entries = store.list(prefix=KEY_PREFIX, suffix=KEY_SUFFIX)
    return sorted(k[len(KEY_PREFIX) : -len(KEY_SUFFIX)] for k, user in entries.items() if user == USERNAME)


def list_everywhere(store: CredentialStore | None, places: Sequence[GoPlace]) -> dict[str, str]:
    """name -> where it is (the description of its store), sorted by name: ours (`store`; None: none
    could be opened), then the Go plugin's places (go_plugin.go_places). A name in several places is
    listed once, with the place the resolver reads first: ours wins. Raises CredentialStoreError when
    our store fails to list; a Go place never raises (one that cannot be read holds nothing)."""
    found = dict.fromkeys(list_names(store), store.description) if store is not None else {}
    for place in places:
        for name in place.names():
            found.setdefault(name, place.description)
    return dict(sorted(found.items()))


def remove(store: CredentialStore, names: list[str]) -> None:
    """Remove each secret; every name is tried, and the missing ones are reported together."""
    missing = [name for name in names if not store.delete(key_for(name))]
    if missing:
        quoted = ", ".join(f'"{name}"' for name in missing)
        kind = "secret" if len(missing) == 1 else "secrets"
        raise SecretNotFoundError(f"{kind} {quoted} not found: run 'docker mcp secret ls' to list them")


def remove_all(store: CredentialStore) -> list[str]:
    names = list_names(store)
    for name in names:
        store.delete(key_for(name))
    return names
