"""The credential store: entries (key -> username, secret) in the Docker credential helper named by
`credsStore` in the Docker CLI config. OAuth client records, tokens and user secrets all live here;
callers see only `CredentialStore`, never the helper.

There is no plaintext fallback: without a working helper, every operation fails with a message that
says how to configure one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import DockerMcpError

HELPER_EXAMPLES = "pass, secretservice, osxkeychain or wincred"


class CredentialStoreError(DockerMcpError):
    """The credential helper is missing, unconfigured or failing."""


@dataclass(frozen=True)
class Credential:
    username: str
    secret: str

    def __repr__(self) -> str:  # never show the secret in a traceback or log
        return f"Credential(username={self.username!r}, secret=<hidden>)"


class CredentialStore(Protocol):
    """Store, get, delete and list entries; what OAuth and the gateway program against."""

    @property
    def description(self) -> str: ...

    def get(self, key: str) -> Credential | None: ...

    def put(self, key: str, username: str, secret: str) -> None: ...

    def delete(self, key: str) -> bool: ...

    def list(self, prefix: str = "", suffix: str = "") -> dict[str, str]:
        """key -> username, for keys with the given prefix and suffix."""
        ...


class HelperStore:
    """A docker-credential-<helper> program, spoken to through docker-py's `docker.credentials.Store`
    (values travel on the helper's stdin, never in its argv)."""

    def __init__(self, helper: str, environment: Mapping[str, str] | None = None) -> None:
        self.helper = helper
        self.program = f"docker-credential-{helper}"
        self.environment = dict(environment) if environment is not None else None
        path = (self.environment or os.environ).get("PATH")
        if shutil.which(self.program, path=path) is None:
            raise CredentialStoreError(
                f'credential helper {self.program} (credsStore "{helper}") is not on PATH: install it '
                "(Debian: apt install golang-docker-credential-helpers) or set credsStore to an installed helper"
            )
        if helper == "pass":
            self._check_password_store()

    def _password_store_dir(self) -> str:
        """Where pass keeps its store: PASSWORD_STORE_DIR, else ~/.password-store (pass(1))."""
        env = self.environment if self.environment is not None else os.environ
        home = env.get("HOME") or os.path.expanduser("~")
        return env.get("PASSWORD_STORE_DIR") or os.path.join(home, ".password-store")

    def _check_password_store(self) -> None:
        """docker-credential-pass on a password store `pass init` never set up lists nothing (exit 0) and
        fails only when storing: say so, and how to set it up, before anything is asked or done."""
        directory = self._password_store_dir()
        if not any(
            os.path.isfile(os.path.join(directory, sub, ".gpg-id")) for sub in ("", "docker-credential-helpers")
        ):
            raise CredentialStoreError(
                f'the password store of {self.program} (credsStore "pass") is not initialised ({directory} has '
                "no .gpg-id): run 'pass init <gpg-id>' with a key from 'gpg --list-secret-keys' (make one with "
                "'gpg --quick-gen-key \"NAME <EMAIL>\"'), or set credsStore to another helper"
            )

    def check_can_store(self) -> None:
        """Raise CredentialStoreError when a value given now could not be stored: for pass, a GPG key named
        by the store's .gpg-id that this keyring (GNUPGHOME) does not have. Asked before a value is read."""
        if self.helper != "pass":
            return
        import subprocess

        env = dict(self.environment if self.environment is not None else os.environ)
        directory = self._password_store_dir()
        for sub in ("docker-credential-helpers", ""):
            try:
                with open(os.path.join(directory, sub, ".gpg-id"), encoding="utf-8") as f:
                    ids = [line.strip() for line in f if line.strip() and not line.startswith("#")]
                break
            except OSError:
                continue
        else:
            return  # checked when the store was opened
        gpg = shutil.which("gpg2", path=env.get("PATH")) or shutil.which("gpg", path=env.get("PATH"))
        if gpg is None:
            raise CredentialStoreError(
                f"{self.program} needs gpg, which is not on PATH: install it (Debian: apt install gnupg)"
            )
        for key in ids:
            found = subprocess.run(
                [gpg, "--batch", "--list-keys", "--", key], env=env, stdin=subprocess.DEVNULL, capture_output=True
            )
            if found.returncode != 0:
                raise CredentialStoreError(
                    f"the password store of {self.program} encrypts for GPG key {key}, which this keyring does not "
                    "have: import that key, or run 'pass init <gpg-id>' with a key from 'gpg --list-secret-keys'"
                )

    @property
    def description(self) -> str:
        return self.program

    def _store(self) -> Any:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from docker.credentials import Store

            return Store(self.helper, environment=self.environment)

    def get(self, key: str) -> Credential | None:
        from docker.credentials.errors import CredentialsNotFound, StoreError

        try:
            result = self._store().get(key)
        except CredentialsNotFound:
            return None
        except StoreError as e:
            raise self._failed("read", e) from None
        return Credential(result.get("Username", ""), result.get("Secret", ""))

    def put(self, key: str, username: str, secret: str) -> None:
        from docker.credentials.errors import StoreError

        try:
            self._store().store(key, username, secret)
        except StoreError as e:
            raise self._failed("store", e) from None

    def delete(self, key: str) -> bool:
        from docker.credentials.errors import CredentialsNotFound, StoreError

        if self.get(key) is None:
            return False
        try:
            self._store().erase(key)
        except CredentialsNotFound:
            return False
        except StoreError as e:
            raise self._failed("erase", e) from None
        return True

    def list(self, prefix: str = "", suffix: str = "") -> dict[str, str]:
        from docker.credentials.errors import StoreError

        try:
            entries = self._store().list()
        except StoreError as e:
            raise self._failed("list", e) from None
        return {k: v for k, v in sorted(entries.items()) if k.startswith(prefix) and k.endswith(suffix)}

    def _failed(self, action: str, e: Exception) -> CredentialStoreError:
        detail = " ".join(str(e).split())[:300]
        return CredentialStoreError(f"credential helper {self.program} failed to {action} an entry: {detail}")


def helper_name(config_dir: str | None) -> str:
    """The helper named by `credsStore` in the Docker CLI config, or a clear error."""
    from ..dockercli import config_path, load_config

    path = config_path(config_dir)
    creds_store = load_config(path).get("credsStore")
    if not creds_store:
        raise CredentialStoreError(
            f'no credential helper configured: set "credsStore" in {path} to a helper such as '
            f'{HELPER_EXAMPLES} (for example {{"credsStore": "pass"}}); secrets are never stored in plain text'
        )
    if not isinstance(creds_store, str):
        raise CredentialStoreError(f'{path}: "credsStore" must be the name of a credential helper, such as "pass"')
    return creds_store


DESKTOP_HELPER = "desktop"


def open_store(config_dir: str | None, desktop_mode: bool | None = None) -> CredentialStore:
    """Docker Desktop's helper when Desktop runs (and DOCKER_MCP_USE_CE is not true) and it is installed;
    else the helper named by credsStore; else, in the gateway's container (DOCKER_MCP_IN_CONTAINER=1),
    a FileStore of the authorizations exported into Docker secrets (secrets/filestore.py).
    `desktop_mode`: the mode when the caller has detected it already."""
    from ..desktop.detect import ce_mode
    from ..dockercli import home_dir

    if shutil.which(f"docker-credential-{DESKTOP_HELPER}") and (
        desktop_mode if desktop_mode is not None else not ce_mode(home_dir())
    ):
        return HelperStore(DESKTOP_HELPER)
    try:
        return HelperStore(helper_name(config_dir))
    except CredentialStoreError:
        if os.environ.get("DOCKER_MCP_IN_CONTAINER") != "1":
            raise
    # the gateway's image, with no credential helper: the authorizations exported into Docker secrets
    from .filestore import STATE_DIR_ENV, FileStore
    from .resolver import DEFAULT_SECRETS_DIR

    secrets_dir = os.environ.get("DOCKER_MCP_SECRETS_DIR") or DEFAULT_SECRETS_DIR
    return FileStore(secrets_dir, os.environ.get(STATE_DIR_ENV) or None)
