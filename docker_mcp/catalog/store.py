"""The files under ~/.docker/mcp: catalog.json (the index), catalogs/<sanitize(name)>.yaml, registry.yaml,
config.yaml and tools.yaml. Writes are atomic and serialized by a lock on the directory."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import DockerMcpError
from ..fileio import atomic_write, locked
from .schema import DOCKER_CATALOG, Catalog, Server, parse_catalog
from .yamldoc import DocumentError, decode, load

# docker/mcp-gateway@2bd20fe8 pkg/config/readwrite.go:174-183 (sanitizeFilename): strings.TrimSpace trims what
# unicode.IsSpace calls space (Python's strip() also trims U+001C-U+001F), then these become "_"
_UNSAFE = '<>:"/\\|?*\x00'
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


class CatalogNotFoundError(DockerMcpError):
    pass


def catalog_not_found(name: str) -> str:
    """The one wording of a catalog name that is not configured, in the pattern every "not found"
    follows: `KIND "NAME" not found[ in WHERE]: run 'docker mcp …' to list them`."""
    return f"catalog \"{name}\" not found: run 'docker mcp catalog ls' to list them"


@dataclass(frozen=True)
class IndexEntry:
    display_name: str
    url: str = ""
    last_update: str = ""

    def to_json(self) -> dict[str, str]:
        out = {"displayName": self.display_name}
        if self.url:
            out["url"] = self.url
        if self.last_update:
            out["lastUpdate"] = self.last_update
        return out


@dataclass(frozen=True)
class McpDir:
    """~/.docker/mcp (HOME-based, as in the Go plugin; DOCKER_CONFIG does not move it)."""

    root: str

    @classmethod
    def for_home(cls, home: str) -> McpDir:
        return cls(os.path.join(home, ".docker", "mcp"))

    @property
    def index_path(self) -> str:
        return os.path.join(self.root, "catalog.json")

    @property
    def catalogs_dir(self) -> str:
        return os.path.join(self.root, "catalogs")

    def catalog_path(self, name: str) -> str:
        return os.path.join(self.catalogs_dir, sanitize(name) + ".yaml")

    def file(self, name: str) -> str:
        """registry.yaml, config.yaml, tools.yaml, or a path: absolute as given, ./x from the CWD."""
        if os.path.isabs(name):
            return name
        if name.startswith("./"):
            return os.path.abspath(name)
        return os.path.join(self.root, name)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Serialize a read-modify-write of any file here across processes."""
        with locked(self.root):
            yield

    # catalog.json

    def read_index(self) -> dict[str, IndexEntry]:
        """catalog.json's catalogs by name; raises DockerMcpError naming the file when it cannot be used."""
        try:
            with open(self.index_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise DockerMcpError(
                f"{self.index_path}: cannot read the catalog index ({e.strerror}); fix or remove it"
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DockerMcpError(
                f"{self.index_path}: not a text file (byte 0x{data[e.start]:02x} at offset {e.start} is not UTF-8); "
                "the catalog index is JSON: fix or remove the file"
            ) from None
        if not text.strip():
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DockerMcpError(
                f"{self.index_path}: not a valid catalog index ({e}); fix or remove the file"
            ) from None
        except RecursionError:
            raise DockerMcpError(
                f"{self.index_path}: not a valid catalog index (nested too deeply); fix or remove it"
            ) from None
        catalogs = data.get("catalogs") if isinstance(data, dict) else None
        if not isinstance(catalogs, dict) or not all(isinstance(e, dict) for e in catalogs.values()):
            raise DockerMcpError(
                f'{self.index_path}: not a valid catalog index ("catalogs" must map names to objects); fix or remove it'
            )

        def text_of(entry: dict[str, Any], key: str, default: str = "") -> str:
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                raise DockerMcpError(f"{self.index_path}: catalogs.{key}: must be a string; fix or remove the file")
            return value or default

        return {
            name: IndexEntry(text_of(e, "displayName", name), text_of(e, "url"), text_of(e, "lastUpdate"))
            for name, e in catalogs.items()
        }

    def write_index(self, index: dict[str, IndexEntry]) -> None:
        """Write catalog.json readable by its owner only: a source URL in it may hold a password or token."""
        data = {"catalogs": {name: index[name].to_json() for name in sorted(index)}}
        atomic_write(self.index_path, json.dumps(data, indent=2, sort_keys=True).encode(), mode=0o600, private=True)

    def find(self, name: str, index: dict[str, IndexEntry] | None = None) -> str | None:
        """The configured catalog a command line's `name` means, as catalog.json spells it: `name` itself,
        else the one catalog stored in the same file (sanitize: the Go plugin's `MyTeam` lives in
        myteam.yaml, so `myteam` finds it too). None when no catalog matches; DockerMcpError when several
        share that file and none is spelled `name`."""
        index = self.read_index() if index is None else index
        if name in index:
            return name
        same_file = sorted(key for key in index if sanitize(key) == sanitize(name))
        if len(same_file) > 1:
            spelled = ", ".join(f'"{key}"' for key in same_file)
            raise DockerMcpError(
                f'catalog "{name}" is ambiguous: catalogs {spelled} are all stored in {self.catalog_path(name)}; '
                "name one exactly as 'docker mcp catalog ls' shows it"
            )
        return same_file[0] if same_file else None

    def configured(self, name: str, index: dict[str, IndexEntry] | None = None) -> str:
        """find(), raising CatalogNotFoundError when no configured catalog matches."""
        found = self.find(name, index)
        if found is None:
            raise CatalogNotFoundError(catalog_not_found(name))
        return found

    # catalogs/<name>.yaml

    def read_catalog_bytes(self, name: str) -> bytes:
        try:
            with open(self.catalog_path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def write_catalog_bytes(self, name: str, data: bytes) -> None:
        atomic_write(self.catalog_path(name), data)

    def load_catalog(self, name: str) -> Catalog:
        path = self.catalog_path(name)
        data = self.read_catalog_bytes(name)
        catalog = parse_catalog(load(decode(data, path), path), path, stored=True, creates=False)
        return Catalog(name, catalog.display_name or name, catalog.servers)

    def configured_catalogs(self) -> list[str]:
        """Every catalog of the index, Docker's first, then by name: later ones win per server."""
        names = sorted(self.read_index())
        if DOCKER_CATALOG in names:
            names.remove(DOCKER_CATALOG)
            names.insert(0, DOCKER_CATALOG)
        return names

    def all_servers(self) -> dict[str, tuple[str, Server]]:
        """The merged catalog: server name -> (catalog name, server)."""
        merged: dict[str, tuple[str, Server]] = {}
        for name in self.configured_catalogs():
            for server_name, server in self.load_catalog(name).servers.items():
                merged[server_name] = (name, server)
        return merged

    # registry.yaml, config.yaml, tools.yaml

    def read_yaml_map(self, name: str) -> dict[str, Any]:
        path = self.file(name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return {}
        document = load(decode(data, path), path)
        if document is None:
            return {}
        if not isinstance(document, dict):
            raise DocumentError(f"{path}:1:1: must be a mapping; fix or remove the file")
        return document

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), text.encode("utf-8"))


def sanitize(name: str) -> str:
    """The file name (without `.yaml`) of catalog `name` under catalogs/, as the Go plugin makes it
    (docker/mcp-gateway@2bd20fe8 pkg/config/readwrite.go:158-183): surrounding space trimmed, lower-cased
    character by character (Go's unicode.ToLower: U+0130 -> "i", a final U+03A3 -> U+03C3), each of `<>:"/\\|?*`
    and NUL -> "_", cut to 250 bytes of UTF-8 (a character cut in two stays cut, as in Go's file name).
    `MyTeam` -> `myteam`; a name this plugin creates (schema.CATALOG_NAME) is its own file name."""
    lowered = "".join("i" if c == "\u0130" else c.lower() for c in name.strip(_GO_SPACE))
    cleaned = "".join("_" if c in _UNSAFE else c for c in lowered)
    encoded = cleaned.encode("utf-8", "surrogateescape")
    return encoded[:250].decode("utf-8", "surrogateescape") if len(encoded) > 250 else cleaned


def user_mcp_dir() -> McpDir:
    from ..dockercli import home_dir

    return McpDir.for_home(home_dir())
