"""Atomic, serialized file writes: every configuration file the plugin changes goes through here."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator


def atomic_write(path: str, data: bytes, mode: int = 0o644, dir_mode: int = 0o755) -> None:
    """Replace `path` with `data` in one step: a reader sees the old file or the new one, never a torn one.

    An existing file keeps its permission bits; a new one gets `mode`.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        mode = os.stat(path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(directory: str, dir_mode: int = 0o755) -> Iterator[None]:
    """Hold an exclusive lock on `directory` itself (flock on its descriptor) for a read-modify-write
    of files in it across processes; no lock file is left behind."""
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
