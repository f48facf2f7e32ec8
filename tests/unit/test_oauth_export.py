"""`docker mcp oauth export` and the gateway container's FileStore: the export holds the client record
and the token entries as the credential store holds them, never the client secret; FileStore serves
them, keeps renewals in the state directory (or memory), and refuses a file that is not an export."""

from __future__ import annotations

import json
import os
import stat

import pytest

from docker_mcp.oauth.clients import DCR, ClientRecord, load_client, save_client
from docker_mcp.oauth.errors import OAuthError
from docker_mcp.oauth.export import exported, write_export
from docker_mcp.oauth.tokens import Token, load_token, save_token, token_key
from docker_mcp.secrets.filestore import FileStore
from docker_mcp.secrets.store import Credential, CredentialStoreError

ISSUED_SECRET = "PLANTED-dcr-issued-client-secret-4411"
ACCESS, REFRESH = "PLANTED-access-token-1", "PLANTED-refresh-token-1"


class Memory:
    def __init__(self) -> None:
        self.entries: dict[str, Credential] = {}

    description = "memory"

    def get(self, key: str) -> Credential | None:
        return self.entries.get(key)

    def put(self, key: str, username: str, secret: str) -> None:
        self.entries[key] = Credential(username, secret)

    def delete(self, key: str) -> bool:
        return self.entries.pop(key, None) is not None

    def list(self, prefix: str = "", suffix: str = "") -> dict[str, str]:
        return {k: c.username for k, c in self.entries.items() if k.startswith(prefix) and k.endswith(suffix)}


RECORD = ClientRecord(
    server_name="notes",
    client_type=DCR,
    client_id="dcr-client-1",
    authorization_endpoint="https://auth.example/authorize",
    token_endpoint="https://auth.example/token",
    client_secret=ISSUED_SECRET,
)


def authorized() -> Memory:
    store = Memory()
    save_client(store, RECORD)  # type: ignore[arg-type]
    save_token(store, RECORD, Token(access_token=ACCESS, refresh_token=REFRESH, expiry=None))  # type: ignore[arg-type]
    return store


def test_the_export_has_the_record_and_token_entries_and_never_the_client_secret(tmp_path):
    document = exported(authorized(), "notes")  # type: ignore[arg-type]
    assert document["format"] == "docker-mcp-oauth-export/1" and document["server"] == "notes"
    assert set(document["entries"]) == {"https://notes.mcp-dcr", token_key(RECORD)}
    path = tmp_path / "notes.oauth"
    write_export(document, str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ISSUED_SECRET not in path.read_text()
    with pytest.raises(OAuthError, match="exists: choose another file, or add --force"):
        write_export(document, str(path))
    write_export(document, str(path), force=True)


def test_an_unauthorized_server_cannot_be_exported():
    with pytest.raises(OAuthError, match="not authorized: run 'docker mcp oauth authorize other'"):
        exported(authorized(), "other")  # type: ignore[arg-type]


def test_the_file_store_serves_the_export_and_keeps_renewals_in_the_state_directory(tmp_path):
    secrets, state = tmp_path / "run-secrets", tmp_path / "state"
    secrets.mkdir()
    state.mkdir()
    write_export(exported(authorized(), "notes"), str(secrets / "notes.oauth"))  # type: ignore[arg-type]
    store = FileStore(str(secrets), str(state))
    record = load_client(store, "notes")  # type: ignore[arg-type]
    assert record is not None and record.client_id == "dcr-client-1" and record.client_secret == ""
    assert load_token(store, record).access_token == ACCESS  # type: ignore[arg-type, union-attr]
    save_token(store, record, Token(access_token="renewed", refresh_token="rotated", expiry=None))  # type: ignore[arg-type]
    again = FileStore(str(secrets), str(state))  # a restart, or another replica on the same volume
    assert load_token(again, record).access_token == "renewed"  # type: ignore[arg-type, union-attr]
    [kept] = list(state.iterdir())
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600 and json.loads(kept.read_text())["username"] == "oauth2_notes"
    assert "https://notes.mcp-dcr" in again.list(suffix=".mcp-dcr")


def test_without_a_state_directory_renewals_live_in_memory(tmp_path):
    store = FileStore(str(tmp_path / "none"), None)
    assert store.get("k") is None
    store.put("k", "u", "s")
    assert store.get("k") == Credential("u", "s") and store.delete("k") and store.get("k") is None


def test_a_file_that_is_not_an_export_is_named(tmp_path):
    (tmp_path / "notes.oauth").write_text('{"format": "something else"}')
    with pytest.raises(CredentialStoreError, match=r"notes.oauth is not an authorization exported with"):
        FileStore(str(tmp_path), None)


def test_a_state_directory_the_gateway_cannot_write_is_one_error(tmp_path):
    store = FileStore(str(tmp_path), str(tmp_path / "missing"))
    with pytest.raises(CredentialStoreError, match=r"cannot keep a renewed entry in .*missing .*DOCKER_MCP_STATE_DIR"):
        store.put("k", "u", "s")
