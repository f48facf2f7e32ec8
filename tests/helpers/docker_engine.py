"""A real Docker engine for the tests: Debian's dockerd, started by the test process and stopped by PID.

The engine runs as root without iptables or a bridge, with its sockets and run-time state under a short
directory in /tmp (a unix socket path is limited to about 108 bytes) and its data root in a persistent
cache directory, so that images imported by one test run are still there in the next one on the same
machine::

    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver DRIVER \\
        --config-file /tmp/dmcp-dockerd-XXXX/daemon.json (empty: /etc/docker/daemon.json stays out) \\
        --data-root CACHE/dockerd-data/PURPOSE-DRIVER --exec-root /tmp/dmcp-dockerd-XXXX/exec \\
        -H unix:///tmp/dmcp-dockerd-XXXX/docker.sock --pidfile /tmp/dmcp-dockerd-XXXX/dockerd.pid

DRIVER is $DOCKER_MCP_TEST_STORAGE_DRIVER, else overlay2 where the kernel has overlayfs, else vfs
(overlay2 also falls back to vfs when dockerd refuses it). vfs works on any file system but copies the
whole image twice for every container: creating one took 10-14 s here on a busy machine, against
0.02 s on overlay2. CACHE is $DOCKER_MCP_TEST_CACHE, else $XDG_CACHE_HOME/docker-mcp-tests, else
~/.cache/docker-mcp-tests. A data root is used by one engine at a time: a second one (another test run,
or a dockerd left over by a killed run) is refused with a message that names it.
scripts/ensure-docker-engine-deps installs dockerd (Debian's docker.io).

Use in tests (one engine per pytest process, stopped at the end of the session and at interpreter exit)::

    @pytest.fixture(scope="session")
    def docker_engine():
        yield engine_for_session()
        stop_session_engine()

    def test_x(docker_engine):
        subprocess.run(["docker", "run", ...], env=docker_engine.env(), check=True)

or on its own: ``with DockerEngine() as engine: engine.docker("version")``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

__all__ = [
    "DockerEngine",
    "DockerEngineError",
    "cache_dir",
    "dockerds_using",
    "engine_for_session",
    "stop_session_engine",
    "unmount_under",
]

INSTALL_HINT = "scripts/ensure-docker-engine-deps installs it (Debian's docker.io)"


class DockerEngineError(RuntimeError):
    """The engine could not be started (or was in use); the message says why and what to do."""


def cache_dir() -> Path:
    """The persistent cache of the Docker tests (data roots, root file systems); created on demand."""
    explicit = os.environ.get("DOCKER_MCP_TEST_CACHE")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "docker-mcp-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _proc_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def dockerds_using(data_root: Path) -> list[int]:
    """PIDs of running dockerd processes whose --data-root is data_root."""
    wanted = os.path.realpath(data_root)
    found = []
    for pid in _pids():
        argv = _proc_cmdline(pid)
        if not argv or os.path.basename(argv[0]) != "dockerd":
            continue
        for i, arg in enumerate(argv):
            value = None
            if arg == "--data-root" and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith("--data-root="):
                value = arg.split("=", 1)[1]
            if value is not None and os.path.realpath(value) == wanted:
                found.append(pid)
    return found


def _auto_driver() -> str:
    try:
        with open("/proc/filesystems", encoding="ascii") as f:
            has_overlay = any(line.split()[-1] == "overlay" for line in f if line.strip())
    except OSError:
        has_overlay = False
    return "overlay2" if has_overlay else "vfs"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def unmount_under(path: str | os.PathLike[str]) -> None:
    """Lazily unmount whatever is mounted under path (netns files of a killed engine, a killed debootstrap)."""
    prefix = os.path.realpath(path) + "/"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            points = [line.split()[4] for line in f]
    except OSError:
        return
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


class DockerEngine:
    """One dockerd, started by :meth:`start` and stopped by PID in :meth:`stop` (also at interpreter exit).

    ``host`` is the ``unix://`` address to give the docker CLI (``-H`` or DOCKER_HOST); ``env()`` is an
    environment with DOCKER_HOST set; ``docker(*args)`` runs the docker CLI against this engine.
    ``start_seconds`` is how long the last start took (until ``docker version`` answered).
    """

    def __init__(
        self,
        purpose: str = "tests",
        *,
        storage_driver: str | None = None,
        data_root: str | os.PathLike[str] | None = None,
        start_timeout: float = 60.0,
        docker_cli: str | None = None,
        dockerd: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        if not purpose.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"purpose must be a simple name, not {purpose!r}")
        self.purpose = purpose
        # "auto": overlay2 where the kernel has overlayfs (container creation in milliseconds), else vfs.
        self.requested_driver = storage_driver or os.environ.get("DOCKER_MCP_TEST_STORAGE_DRIVER") or "auto"
        self.storage_driver = _auto_driver() if self.requested_driver == "auto" else self.requested_driver
        self._explicit_data_root = Path(data_root) if data_root is not None else None
        self.start_timeout = start_timeout
        self.docker_cli = docker_cli or shutil.which("docker") or "docker"
        self.dockerd: str | None = dockerd or shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin:/sbin")
        self.extra_args = list(extra_args)
        self.run_dir: Path | None = None
        self.pid: int | None = None
        self.start_seconds: float | None = None
        self.server_version: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock_file: int | None = None
        self._log: IO[bytes] | None = None

    @property
    def data_root(self) -> Path:
        """CACHE/dockerd-data/PURPOSE-DRIVER (a data root belongs to one storage driver), unless given."""
        if self._explicit_data_root is not None:
            return self._explicit_data_root
        return cache_dir() / "dockerd-data" / f"{self.purpose}-{self.storage_driver}"

    # --- addresses --------------------------------------------------------------------------------

    @property
    def socket_path(self) -> str:
        if self.run_dir is None:
            raise DockerEngineError("the engine is not started")
        return str(self.run_dir / "docker.sock")

    @property
    def host(self) -> str:
        """The engine's address, ``unix:///tmp/dmcp-dockerd-XXXX/docker.sock``."""
        return "unix://" + self.socket_path

    @property
    def log_path(self) -> Path | None:
        """dockerd's own output (and that of its containerd)."""
        return self.run_dir / "dockerd.log" if self.run_dir else None

    def env(self, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
        """``base`` (default: os.environ) with DOCKER_HOST pointing at this engine, plus ``extra``."""
        env = dict(os.environ if base is None else base)
        env.pop("DOCKER_CONTEXT", None)
        env["DOCKER_HOST"] = self.host
        env.update(extra)
        return env

    def docker(
        self,
        *args: str,
        check: bool = True,
        input: bytes | None = None,
        timeout: float | None = 600,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``docker -H HOST ARGS`` and capture its output; DockerEngineError with stderr on failure."""
        command = [self.docker_cli, "-H", self.host, *args]
        result = subprocess.run(command, input=input, capture_output=True, timeout=timeout, env=self.env(env))
        if check and result.returncode != 0:
            raise DockerEngineError(
                f"{' '.join(command)} exited with {result.returncode}: {result.stderr.decode(errors='replace')}"
            )
        return result

    def containers(self, *filters: str) -> list[str]:
        """IDs of the engine's containers (running or not) matching ``docker ps --filter`` FILTERS."""
        args = ["ps", "-a", "-q", "--no-trunc"]
        for f in filters:
            args += ["--filter", f]
        return self.docker(*args).stdout.decode().split()

    def image_exists(self, ref: str) -> bool:
        return self.docker("image", "inspect", ref, check=False).returncode == 0

    # --- life cycle --------------------------------------------------------------------------------

    def start(self) -> DockerEngine:
        """Start dockerd and wait until ``docker version`` answers (``start_seconds`` says how long)."""
        if self._process is not None:
            return self
        if os.geteuid() != 0:
            raise DockerEngineError("dockerd must run as root; the Docker engine tests need a root machine")
        if not self.dockerd:
            raise DockerEngineError(f"dockerd is not installed: {INSTALL_HINT}")
        if shutil.which(self.docker_cli) is None and not os.path.exists(self.docker_cli):
            raise DockerEngineError("the docker CLI is not on PATH")
        try:
            self._start_once()
        except DockerEngineError as exc:
            if self.requested_driver != "auto" or self.storage_driver == "vfs" or "while starting" not in str(exc):
                raise
            # overlay2 refused (say, a data root on an overlay file system): vfs works everywhere.
            self.storage_driver = "vfs"
            self._start_once()
        return self

    def _start_once(self) -> None:
        self.data_root.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            self._start_locked()
        except BaseException:
            self.stop()
            raise

    def _take_lock(self) -> None:
        lock_path = self.data_root.parent / f"{self.data_root.name}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DockerEngineError(
                f"the Docker engine data root {self.data_root} is in use by another test run ({holder or 'unknown'}); "
                f"wait for it to finish, or give this run another one with DOCKER_MCP_TEST_CACHE"
            ) from None
        others = dockerds_using(self.data_root)
        if others:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise DockerEngineError(
                f"another dockerd (PID {', '.join(map(str, others))}) already uses the data root {self.data_root}, "
                f"perhaps left by a test run that was killed: stop it (kill {others[0]}) or set DOCKER_MCP_TEST_CACHE"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        self._lock_file = fd

    def _start_locked(self) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="dmcp-dockerd-", dir="/tmp"))
        if len(self.socket_path) > 100:
            raise DockerEngineError(f"socket path too long for a unix socket: {self.socket_path}")
        config = self.run_dir / "daemon.json"
        config.write_text("{}\n")  # not /etc/docker/daemon.json: the machine's settings stay out
        assert self.dockerd is not None
        command = [
            self.dockerd,
            "--iptables=false", "--ip6tables=false", "--bridge=none",
            "--storage-driver", self.storage_driver,
            "--config-file", str(config),
            "--data-root", str(self.data_root),
            "--exec-root", str(self.run_dir / "exec"),
            "-H", self.host,
            "--pidfile", str(self.run_dir / "dockerd.pid"),
            *self.extra_args,
        ]  # fmt: skip
        assert self.log_path is not None
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        started = time.monotonic()
        # A session of its own: a Ctrl-C in the terminal reaches pytest, which then stops the engine in order.
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self._process.pid
        _running.add(self)
        deadline = started + self.start_timeout
        last_error = ""
        while True:
            if self._process.poll() is not None:
                raise DockerEngineError(
                    f"dockerd exited with {self._process.returncode} while starting; its log:\n{self._log_tail()}"
                )
            if os.path.exists(self.socket_path):
                probe = subprocess.run(
                    [self.docker_cli, "-H", self.host, "version", "--format", "{{.Server.Version}}"],
                    capture_output=True,
                    timeout=30,
                    env=self.env(),
                )
                if probe.returncode == 0:
                    self.server_version = probe.stdout.decode().strip()
                    break
                last_error = probe.stderr.decode(errors="replace").strip()
            if time.monotonic() > deadline:
                raise DockerEngineError(
                    f"dockerd did not answer `docker version` within {self.start_timeout:.0f} s ({last_error}); "
                    f"its log:\n{self._log_tail()}"
                )
            time.sleep(0.1)
        self.start_seconds = time.monotonic() - started

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to dockerd, wait up to ``timeout`` s, then SIGKILL (and its own leftover children)."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
            self._kill_leftovers()
            # Mounts of containers a killed engine left in its data root (none after an orderly stop).
            unmount_under(self.data_root)
        _running.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.run_dir is not None:
            unmount_under(self.run_dir)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        if self._lock_file is not None:
            os.close(self._lock_file)  # releases the flock
            self._lock_file = None
        self.pid = None

    def _kill_leftovers(self) -> None:
        """containerd and shims this engine started, when a killed dockerd left them: by PID, by our exec-root."""
        if self.run_dir is None:
            return
        marker = str(self.run_dir)
        mine = [pid for pid in _pids() if pid != os.getpid() and any(marker in a for a in _proc_cmdline(pid))]
        for pid in mine:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in mine) and time.monotonic() < deadline:
            time.sleep(0.05)

    def __enter__(self) -> DockerEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> dict[str, object]:
        return {
            "host": self.host if self.run_dir else None,
            "pid": self.pid,
            "data_root": str(self.data_root),
            "storage_driver": self.storage_driver,
            "start_seconds": self.start_seconds,
        }

    def __repr__(self) -> str:
        return f"DockerEngine({json.dumps(self.describe())})"


_running: set[DockerEngine] = set()
_session_engine: DockerEngine | None = None


@atexit.register
def _stop_all() -> None:
    for engine in list(_running):
        engine.stop()


def _stop_on_sigterm() -> None:
    """A SIGTERM to the test process (a CI timeout, say) stops the engines first, then ends it as before."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: object) -> None:
        _stop_all()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)


def engine_for_session(purpose: str = "tests") -> DockerEngine:
    """The one engine of this test process for ``purpose``, started on first use, stopped at exit.

    The engine is stopped at interpreter exit (atexit) and on SIGTERM to the test process as well.

    Wrap it in a session-scoped fixture (tests/conftest.py)::

        @pytest.fixture(scope="session")
        def docker_engine():
            engine = engine_for_session()
            yield engine
            stop_session_engine()
    """
    global _session_engine
    if _session_engine is not None and _session_engine.purpose != purpose:
        raise DockerEngineError(f"this session already runs an engine for {_session_engine.purpose!r}")
    if _session_engine is None or _session_engine._process is None:
        _stop_on_sigterm()
        _session_engine = DockerEngine(purpose).start()
    return _session_engine


def stop_session_engine() -> None:
    """Stop the engine of engine_for_session(), if one runs (a later call starts a new one)."""
    global _session_engine
    if _session_engine is not None:
        _session_engine.stop()
        _session_engine = None
