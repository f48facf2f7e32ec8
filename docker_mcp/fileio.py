"""Atomic, serialized file writes: every configuration file the plugin changes goes through here."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator


def atomic_write(path: str, data: bytes, mode: int = 0o644, dir_mode: int = 0o755, *, private: bool = False) -> None:
    """Replace `path` with `data` in one step: a reader sees the old file or the new one, never a torn one.

    A new file gets `mode` less the umask. An existing file keeps its permission bits, less those of group
    and others when `private` (a file that may hold credentials). The data goes to `.NAME.XXXXXXXX.tmp`
    beside `path`, locked (flock) by its writer until renamed; such temp files of `path` that no writer
    holds were left by one that was killed mid-write, and are removed first. Raises OSError.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=dir_mode, exist_ok=True)
    keep: int | None = None
    with contextlib.suppress(FileNotFoundError):
        keep = os.stat(path).st_mode & 0o7777 & (~0o077 if private else 0o7777)
    prefix = "." + os.path.basename(path) + "."
    _remove_abandoned_temp_files(directory, prefix)
    fd, tmp = _create_locked_temp_file(directory, prefix, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if keep is not None:
                os.fchmod(f.fileno(), keep)
            os.replace(tmp, path)  # before closing: the lock lasts until the temp name is gone
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _create_locked_temp_file(directory: str, prefix: str, mode: int) -> tuple[int, str]:
    """A new `prefix` + 8 random hex digits + `.tmp` in `directory`, created with `mode` (the kernel takes
    the umask off) and locked for as long as it is open: (descriptor open for writing, path)."""
    for _ in range(100):
        tmp = os.path.join(directory, prefix + os.urandom(4).hex() + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):  # a file system without locks: nothing is removed there either
            fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            return fd, tmp
        os.close(fd)  # another writer took it for abandoned between its creation and our lock
    raise FileExistsError(f"{directory}: cannot create a temporary file for {prefix[1:-1]}")


def _remove_abandoned_temp_files(directory: str, prefix: str) -> None:
    """Remove the temp files `prefix` + 8 characters + `.tmp` in `directory` whose writer is gone: the
    kernel drops a writer's lock when it dies, even by SIGKILL. The files of a writer still at work (or
    of any writer on a file system without locks) are left alone."""
    name = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}\.tmp")  # also the names tempfile.mkstemp gave
    try:
        candidates = [n for n in os.listdir(directory) if name.fullmatch(n)]
    except OSError:
        return
    for candidate in candidates:
        tmp = os.path.join(directory, candidate)
        try:
            fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its writer is at work (or locks are not supported here)
            os.close(fd)
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # while locked, so its writer, if it just created it, sees it gone and starts over
        os.close(fd)


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
