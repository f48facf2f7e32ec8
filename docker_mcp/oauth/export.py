"""`docker mcp oauth export`: an authorization a gateway in a container can use (issue 15).

The gateway's image has no credential helper. What `oauth authorize` stored for a server (its client
record and its tokens, as the credential-store entries the gateway reads) is written to a file, which
the operator makes a Docker secret named `<server>.oauth`; in the container, `FileStore`
(secrets/filestore.py) serves those entries and keeps the renewed tokens. The client secret is never
exported: a pre-registered client's is a secret of its own (its name in the catalog), given to the
container as a Docker secret too; a DCR client's, when the server issued one, is left out, so only a
public DCR client (token_endpoint_auth_method none, what MCP servers register) renews from a container.

The file: JSON {"format": FORMAT, "server": NAME, "entries": {KEY: {"username": U, "secret": S}}}, the
entries exactly as the credential store holds them (base64 JSON). It holds refresh and access tokens:
it is created with mode 0600 and never printed."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from ..secrets.filestore import EXPORT_FORMAT as FORMAT
from ..secrets.store import CredentialStore
from .clients import load_client, save_client
from .errors import OAuthError
from .tokens import not_authorized_message, token_key


class _Entries:
    """A CredentialStore in memory, to have save_client encode a record as the store holds it."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, str]] = {}

    def put(self, key: str, username: str, secret: str) -> None:
        self.entries[key] = {"username": username, "secret": secret}


def exported(store: CredentialStore, server: str) -> dict[str, Any]:
    """The export document of `server`'s authorization in `store` (module docstring). Raises OAuthError
    when the server has no client record or no token there (not authorized)."""
    record = load_client(store, server)
    token = store.get(token_key(record)) if record is not None else None
    if record is None or token is None:
        raise OAuthError(not_authorized_message(server))
    entries = _Entries()
    save_client(entries, dataclasses.replace(record, client_secret=""))  # type: ignore[arg-type]
    entries.put(token_key(record), token.username, token.secret)
    return {"format": FORMAT, "server": server, "entries": entries.entries}


def write_export(document: dict[str, Any], path: str, force: bool = False) -> None:
    """Write the export to `path`, created with mode 0600 (an existing file only with `force`). Raises
    OAuthError naming the file when it cannot be written."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise OAuthError(f"{path} exists: choose another file, or add --force to replace it") from None
    except OSError as e:
        raise OAuthError(f"cannot write {path}: {e.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(document, f)
        f.write("\n")
