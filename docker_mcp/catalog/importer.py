"""Catalog operations: import (a whole catalog or a single-server file), create, add, rm, export, fork,
update. Every input is read and validated in full before anything under ~/.docker/mcp is written."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from ..errors import DockerMcpError
from ..fileio import atomic_write
from ..output import redact_credentials
from .schema import DOCKER_CATALOG, Catalog, CatalogError, check_catalog_name, is_single_server, parse_document
from .store import CatalogNotFoundError, IndexEntry, McpDir
from .yamldoc import MAX_DOCUMENT_BYTES, DocumentError, check_size, decode, dump, encode, load, new_map


class ReservedCatalogError(DockerMcpError):
    pass


@dataclass(frozen=True)
class Source:
    """What was read: the bytes, the label errors use (as the user typed it) and where it lives."""

    data: bytes
    label: str  # a URL's without its credentials (see redact_credentials)
    origin: str  # a URL, or an absolute file path (stored in catalog.json for `update`)


@dataclass(frozen=True)
class Prepared:
    """A validated document ready to be stored as catalog `name`."""

    name: str
    display_name: str
    content: bytes
    single_server: str | None  # the server's name when the source was a single-server file
    replaced: tuple[str, ...] = ()  # stored: the configured catalogs it replaced in the same file


def is_url(source: str) -> bool:
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def read_source(source: str) -> Source:
    if is_url(source):
        try:
            data = _fetch(source)
        except DockerMcpError as e:  # its message may quote the URL, with a password or token in it
            e.args = (redact_credentials(str(e)), *e.args[1:])
            raise
        return Source(data, redact_credentials(source), source)
    if "://" in source:
        raise DockerMcpError(f"{source}: unsupported URL scheme; give an http(s) URL or a file path")
    path = os.path.abspath(source)
    try:
        check_size(os.stat(path).st_size, source)
        with open(path, "rb") as f:
            data = f.read(MAX_DOCUMENT_BYTES + 1)
    except IsADirectoryError:
        raise DockerMcpError(f"{source}: is a directory; give a catalog or server file") from None
    except FileNotFoundError:
        raise DockerMcpError(f"{source}: no such file") from None
    except OSError as e:
        raise DockerMcpError(f"{source}: cannot read: {e.strerror}") from None
    return Source(data, source, path)


def _fetch(url: str) -> bytes:
    """The document at `url` (http or https), redirects followed, within bounded_http's one deadline for
    the whole download and at most MAX_DOCUMENT_BYTES (a larger one is refused, not cut)."""
    import requests

    from ..bounded_http import ResponseRefused, bounded_session_class
    from ..metadata import version

    with bounded_session_class(requests.Session, MAX_DOCUMENT_BYTES, follow_redirects=True)() as session:
        session.headers["User-Agent"] = f"docker-mcp/{version()}"
        try:
            response = session.get(url)
        except ResponseRefused as e:
            raise DockerMcpError(f'downloading "{url}": it {e.reason}') from None
        except (requests.RequestException, ValueError) as e:  # ValueError: a redirect to no valid URL
            raise DockerMcpError(f'downloading "{url}": {type(e).__name__}') from None
    if response.status_code != 200:
        raise DockerMcpError(f'downloading "{url}" (status code: {response.status_code})')
    return bytes(response.content)


def prepare(source: Source, name: str | None = None) -> Prepared:
    """Validate a source document in full; a single-server file becomes a catalog holding that server."""
    document = load(decode(source.data, source.label), source.label)
    # a name read from the document names a catalog created here; one given (update) is already configured
    catalog = parse_document(document, source.label, creates=name is None)
    if is_single_server(document):
        server = catalog.name
        wrapped = new_map({"name": name or server, "displayName": catalog.display_name, "registry": {server: document}})
        # the file's leading comment stays at the top of the catalog
        wrapped.ca.comment, document.ca.comment = document.ca.comment, None
        content = encode(dump(wrapped), source.label)
        if len(content) > MAX_DOCUMENT_BYTES:  # the catalog made from the file must still fit when read back
            raise DocumentError(
                f"{source.label}: the catalog made from this server file would be {len(content)} bytes, "
                f"more than a catalog file may hold ({MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB)"
            )
        try:  # and still be within the node limits (MAX_NODES) with the few nodes the wrapping adds
            load(content.decode("utf-8"), source.label)
        except DocumentError as e:
            reason = str(e)[len(source.label) :].lstrip(":0123456789 ")  # its line:col are the catalog's
            raise DocumentError(
                f"{source.label}: the catalog made from this server file would not read back: {reason}"
            ) from None
        return Prepared(name or server, catalog.display_name, content, server)
    target = name or catalog.name
    if not target:
        raise CatalogError(f"{source.label}:1:1: name: the catalog has no name; add `name: <catalog-name>` at the top")
    return Prepared(target, catalog.display_name or target, source.data, None)


def import_catalog(mcp: McpDir, source: str) -> Prepared:
    """Read `source` (a file path or URL), check it in full and store it as a configured catalog.
    Returns what was stored, with the names of the configured catalogs it replaced in the same file (the
    Go plugin's `MyTeam` when `myteam` is imported). Raises CatalogError, DocumentError, DockerMcpError."""
    src = read_source(source)
    prepared = prepare(src)
    with mcp.lock():
        file = mcp.catalog_path(prepared.name)
        replaced = tuple(sorted(k for k in mcp.read_index() if k != prepared.name and mcp.catalog_path(k) == file))
        _store(mcp, prepared, IndexEntry(prepared.display_name, src.origin))
    return replace(prepared, replaced=replaced)


def _store(mcp: McpDir, prepared: Prepared, entry: IndexEntry) -> None:
    """Write the catalog file, then its index entry: a reader never sees an entry without its file. Another
    entry stored in the same file (the Go plugin's `MyTeam` when `myteam` is imported) is dropped: its file
    now holds this catalog."""
    mcp.write_catalog_bytes(prepared.name, prepared.content)
    index = mcp.read_index()
    file = mcp.catalog_path(prepared.name)
    index = {key: e for key, e in index.items() if key == prepared.name or mcp.catalog_path(key) != file}
    index[prepared.name] = entry
    mcp.write_index(index)


def create(mcp: McpDir, name: str) -> None:
    _refuse_reserved(name, f"cannot create catalog '{name}' as it is reserved for Docker's official catalog")
    check_catalog_name(name)
    with mcp.lock():
        _refuse_existing(mcp, name, mcp.read_index())
        content = dump(new_map({"name": name, "displayName": name})).encode()
        _store(mcp, Prepared(name, name, content, None), IndexEntry(name))


def remove(mcp: McpDir, name: str) -> str:
    """Remove catalog `name` (found as McpDir.find does) and its file; returns its name as configured.
    Raises ReservedCatalogError for Docker's catalog, CatalogNotFoundError."""
    _refuse_reserved(name, f"cannot remove catalog '{name}' as it is managed by Docker")
    with mcp.lock():
        index = mcp.read_index()
        name = mcp.configured(name, index)
        _refuse_reserved(name, f"cannot remove catalog '{name}' as it is managed by Docker")
        del index[name]
        mcp.write_index(index)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(mcp.catalog_path(name))
    return name


def export(mcp: McpDir, name: str, path: str) -> None:
    """Copy catalog `name`'s file to `path`. Raises CatalogNotFoundError, ReservedCatalogError, and
    DockerMcpError when `path`'s directory does not exist (created by nothing, as `docker context export`
    fails `open …: no such file or directory`) or the file cannot be written."""
    if name in (DOCKER_CATALOG, DOCKER_CATALOG + ".yaml"):
        raise ReservedCatalogError("cannot export the Docker MCP catalog as it is managed by Docker")
    name = mcp.configured(name)
    mcp.load_catalog(name)  # refuse to export a file that no longer parses
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):  # as `docker context export`: no directory is made for the file
        raise DockerMcpError(
            f"failed to write export file: {path}: directory {parent} does not exist: create it first, "
            "or give a path in an existing directory"
        )
    try:
        atomic_write(os.path.abspath(path), mcp.read_catalog_bytes(name))
    except OSError as e:
        raise DockerMcpError(f"failed to write export file: {path}: {e.strerror}") from None


def fork(mcp: McpDir, source: str, new: str) -> None:
    _refuse_reserved(new, f"cannot create catalog '{new}' as it is reserved for Docker's official catalog")
    check_catalog_name(new)
    with mcp.lock():
        index = mcp.read_index()
        if source != DOCKER_CATALOG:
            source = mcp.configured(source, index)
        _refuse_existing(mcp, new, index)
        path = mcp.catalog_path(source)
        document = load(decode(mcp.read_catalog_bytes(source), path), path) or new_map()
        display = f"{new} (forked from {source})"
        document["name"] = new
        document["displayName"] = display
        content = encode(dump(document), path)
        parse_document(load(decode(content, path), path), path)  # what is stored must read back
        _store(mcp, Prepared(new, display, content, None), IndexEntry(display))


def add(mcp: McpDir, catalog: str, server: str, source_file: str, force: bool = False) -> None:
    """Copy one server from a catalog file (or a single-server file) into a configured catalog."""
    _refuse_reserved(catalog, f"cannot add servers to catalog '{catalog}' as it is managed by Docker")
    if not os.path.isfile(source_file):
        raise DockerMcpError(f'catalog file "{source_file}" not found')
    src = read_source(source_file)
    document = load(decode(src.data, src.label), src.label)
    parsed = parse_document(document, src.label, creates=False)  # the source's own name is not used
    if server not in parsed.servers:
        raise DockerMcpError(f'server "{server}" not found in catalog "{source_file}"')
    entry = document if is_single_server(document) else document["registry"][server]
    with mcp.lock():
        catalog = mcp.configured(catalog)
        _refuse_reserved(catalog, f"cannot add servers to catalog '{catalog}' as it is managed by Docker")
        path = mcp.catalog_path(catalog)
        destination = load(decode(mcp.read_catalog_bytes(catalog), path), path) or new_map({"name": catalog})
        registry = destination.get("registry")
        if registry is None:
            registry = destination["registry"] = new_map()
        if registry.get(server) and not force:
            raise DockerMcpError(f'server "{server}" already exists in catalog "{catalog}" (use --force to overwrite)')
        registry[server] = entry
        content = encode(dump(destination), path)
        parse_document(load(decode(content, path), path), path, creates=False)  # what is stored must read back
        mcp.write_catalog_bytes(catalog, content)


def update(mcp: McpDir, name: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """Refresh catalogs from their stored source; returns (updated names, skipped names, error lines).
    Updating all skips the catalogs made here (created or forked: no source); naming one is an error."""
    index = mcp.read_index()
    if name is not None:
        name = mcp.configured(name, index)
    updated, skipped, errors = [], [], []
    for catalog in [name] if name else sorted(index):
        entry = index[catalog]
        if not entry.url and name is None:
            skipped.append(catalog)
            continue
        try:
            if not entry.url:
                raise DockerMcpError(
                    f'catalog "{catalog}" has no source to update from (it was created or forked, not imported)'
                )
            prepared = prepare(read_source(entry.url), catalog)
            with mcp.lock():
                stamp = datetime.now().astimezone().isoformat(timespec="seconds")
                _store(mcp, prepared, IndexEntry(entry.display_name, entry.url, stamp))
            updated.append(catalog)
        except DockerMcpError as e:
            errors.append(redact_credentials(f"{catalog}: {e}"))
    return updated, skipped, errors


def _refuse_reserved(name: str, message: str) -> None:
    if name == DOCKER_CATALOG:
        raise ReservedCatalogError(message)


def _refuse_existing(mcp: McpDir, name: str, index: dict[str, IndexEntry]) -> None:
    """A new catalog may not take a configured one's name, nor its file (the Go plugin's `MyTeam` is stored
    in myteam.yaml, which a new `myteam` would overwrite)."""
    existing = mcp.find(name, index)
    if existing == name:
        raise DockerMcpError(f'catalog "{name}" already exists')
    if existing is not None:
        raise DockerMcpError(
            f'catalog "{name}" already exists as "{existing}" (both would be stored in {mcp.catalog_path(name)}): '
            "choose another name"
        )


def read_catalog(mcp: McpDir, ref: str) -> Catalog:
    """A catalog named on the command line (`gateway run --catalog`): a configured catalog's name, a file
    in ~/.docker/mcp/catalogs, a file path, or an http(s) URL; a server file counts as a catalog of one."""
    configured = mcp.find(ref)
    if configured is not None:
        return mcp.load_catalog(configured)
    in_catalogs = os.path.join(mcp.catalogs_dir, ref)
    if not is_url(ref) and not os.path.isabs(ref) and not ref.startswith("./") and os.path.isfile(in_catalogs):
        ref = in_catalogs
    elif not is_url(ref) and not os.path.exists(ref):
        raise CatalogNotFoundError(
            f'catalog "{ref}" not found: give a catalog name (docker mcp catalog ls), a file or an https URL'
        )
    source = read_source(ref)
    return parse_document(load(decode(source.data, source.label), source.label), source.label, creates=False)


def catalog_of(mcp: McpDir, name: str) -> Catalog:
    """Configured catalog `name` (found as McpDir.find does); raises CatalogNotFoundError, CatalogError."""
    return mcp.load_catalog(mcp.configured(name))
