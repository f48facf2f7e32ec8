"""Named secrets, as `docker mcp secret` manages them: `NAME` is stored in the credential store under
`https://NAME.mcp-secret` with username `mcp_secret`."""

from __future__ import annotations

import re

from ..errors import DockerMcpError
from .store import CredentialStore

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._:-]+(?:/[A-Za-z0-9._:-]+)*$")
KEY_PREFIX = "https://"
KEY_SUFFIX = ".mcp-secret"
USERNAME = "mcp_secret"


class InvalidSecretNameError(DockerMcpError):
    pass


class SecretNotFoundError(DockerMcpError):
    pass


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name) or any(part in (".", "..") for part in name.split("/")):
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
