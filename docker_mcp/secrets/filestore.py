"""The credential store of the gateway in a container, where there is no credential helper (issue 15).

Entries come from the authorizations exported with `docker mcp oauth export` and given to the container
as Docker secrets (`<secrets dir>/<server>.oauth`, read-only), and what the gateway stores (renewed
tokens, a machine client's tokens) goes to the state directory, `DOCKER_MCP_STATE_DIR` (a writable
volume: one JSON file per entry, mode 0600, replaced atomically), else to memory (lost at exit). An entry
in the state directory wins over the exported one: the renewal is the newer. Several replicas sharing
one state volume read each other's renewals (the docs say what holds)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .store import Credential, CredentialStoreError

STATE_DIR_ENV = "DOCKER_MCP_STATE_DIR"
EXPORT_SUFFIX = ".oauth"
EXPORT_FORMAT = "docker-mcp-oauth-export/1"


class FileStore:
    """CredentialStore over exported authorizations (`secrets_dir/*.oauth`) and `state_dir` (None:
    memory). Raises CredentialStoreError naming the file when an export is not one, or the state
    directory cannot be written."""

    def __init__(self, secrets_dir: str, state_dir: str | None) -> None:
        self.secrets_dir, self.state_dir = secrets_dir, state_dir
        self._memory: dict[str, Credential] = {}
        self._exported = self._read_exports()

    @property
    def description(self) -> str:
        kept = self.state_dir or "memory"
        return f"exported authorizations in {self.secrets_dir} (renewals kept in {kept})"

    def _read_exports(self) -> dict[str, Credential]:
        found: dict[str, Credential] = {}
        folder = Path(self.secrets_dir)
        paths = sorted(folder.glob(f"*{EXPORT_SUFFIX}")) if folder.is_dir() else []
        for path in paths:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                raise CredentialStoreError(
                    f"cannot read {path} ({e.strerror}): make it readable by the gateway's user "
                    f"(uid {os.getuid()}), e.g. mode 0444 as Swarm mounts secrets"
                ) from None
            try:
                document = json.loads(text)
                assert isinstance(document, dict) and document.get("format") == EXPORT_FORMAT
                for key, entry in document["entries"].items():
                    found[str(key)] = Credential(str(entry["username"]), str(entry["secret"]))
            except (OSError, ValueError, AssertionError, KeyError, TypeError, AttributeError):
                raise CredentialStoreError(
                    f"{path} is not an authorization exported with 'docker mcp oauth export': export it again"
                ) from None
        return found

    def _state_file(self, key: str) -> Path:
        assert self.state_dir is not None
        return Path(self.state_dir) / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def _stored(self, key: str) -> Credential | None:
        if self.state_dir is None:
            return self._memory.get(key)
        try:
            data = json.loads(self._state_file(key).read_text(encoding="utf-8"))
            return Credential(str(data["username"]), str(data["secret"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a half-written or foreign file: the exported entry still serves

    def get(self, key: str) -> Credential | None:
        return self._stored(key) or self._exported.get(key)

    def put(self, key: str, username: str, secret: str) -> None:
        if self.state_dir is None:
            self._memory[key] = Credential(username, secret)
            return
        target = self._state_file(key)
        try:
            fd, partial = tempfile.mkstemp(dir=self.state_dir, prefix=".entry-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"key": key, "username": username, "secret": secret}, f)
            os.replace(partial, target)
        except OSError as e:
            raise CredentialStoreError(
                f"cannot keep a renewed entry in {self.state_dir} ({STATE_DIR_ENV}): {e.strerror}; "
                "mount a volume the gateway's user (uid 10001) can write there"
            ) from None

    def delete(self, key: str) -> bool:
        if self.state_dir is None:
            return self._memory.pop(key, None) is not None
        with contextlib.suppress(FileNotFoundError):
            self._state_file(key).unlink()
            return True
        return False

    def list(self, prefix: str = "", suffix: str = "") -> dict[str, str]:
        keys = dict(self._exported)
        if self.state_dir is None:
            keys.update(self._memory)
        else:
            for path in Path(self.state_dir).glob("*.json"):
                with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                    data = json.loads(path.read_text(encoding="utf-8"))
                    keys[str(data["key"])] = Credential(str(data["username"]), str(data["secret"]))
        return {k: c.username for k, c in keys.items() if k.startswith(prefix) and k.endswith(suffix)}
