"""Docker images of real MCP servers, built on this machine (there is no registry to pull from).

All images come from one Debian bookworm root file system (debootstrap minbase with python3, and a
virtual environment /opt/mcp holding ``mcp-server-time`` and the MCP Python SDK), imported into the
engine with ``docker import``:

- ``mcp-time:test`` (:func:`ensure_time_image`): the MCP project's reference time server, stdio; its
  tools include ``get_current_time`` (``{"timezone": "UTC"}``) and ``convert_time``.
- ``mcp-faults:test`` (:func:`ensure_faults_image`): a small server of the tests' own,
  /opt/faults/server.py on the same SDK, whose behaviour the environment variable FAULT chooses:

  ==================  ====================================================================================
  FAULT               behaviour
  ==================  ====================================================================================
  ``none`` (default)  a well-behaved server: tools ``echo`` {text}, ``add`` {a, b}, ``echo-env`` {name}
  ``exit-mid-call``   answers initialize and tools/list, exits with status 3 when a tool is called
  ``no-initialize``   reads its input and never answers anything (initialize included)
  ``garbage``         answers every line it reads with a line that is not JSON, never JSON-RPC
  ``noisy``           a working server that also writes non-JSON lines to stdout (at start, per call)
  ``slow``            every tool call sleeps FAULT_SLOW_SECONDS (default 5) before it answers
  ==================  ====================================================================================

  ``echo-env`` {name} returns the value of the environment variable NAME in the container (a tool
  error when it is not set), so a test can check that a secret reached the container's environment.
  FAULT_EXIT_CODE changes the status of ``exit-mid-call``. FAULT_FILE names a file (say, in a mounted
  volume) whose content, when it exists, is the mode instead of FAULT: read at each start, it lets a
  test turn a server that listed its tools well into a faulty one for the next (per-call) container.
  Every mode first writes
  ``mcp-faults: started, FAULT=<mode>`` to stderr, so a test can tell a silent server from one that
  has not started yet.
- ``mcp-args:test`` (:func:`ensure_args_image`): mcp-time:test plus /opt/args/server.py, a server whose
  tools show its command-line arguments: ``argv`` returns them as a JSON list, ``expanded-argv`` the
  same after expanding ``$VAR``/``${VAR}`` from the container's environment (as a server taking a
  secret by reference would). It writes nothing on stdout or stderr but MCP.
- ``mcp-features:test`` (:func:`ensure_features_image`): mcp-time:test plus tests/servers/features.py,
  a server that uses every server-to-client feature (sampling, elicitation, roots, progress, logging,
  cancellation, subscriptions, list_changed, completions); see that file.

The root file system is cached as a tarball, ``CACHE/rootfs-<sha of the recipe>.tar`` (CACHE as in
tests.helpers.docker_engine.cache_dir()): a second build skips debootstrap and pip (about a minute), and
the images themselves stay in the engine's persistent data root, so a later run on the same machine
finds them present. Each image carries the recipe's hash as a label and is rebuilt when it differs.

Building needs root, debootstrap (scripts/ensure-docker-engine-deps) and the Debian mirror and PyPI.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.docker_engine import DockerEngine, DockerEngineError, cache_dir, unmount_under

__all__ = [
    "ARGS_IMAGE",
    "ARGS_SERVER_SOURCE",
    "FAULTS_IMAGE",
    "FAULTS_SERVER_SOURCE",
    "FEATURES_IMAGE",
    "TIME_IMAGE",
    "BuildReport",
    "ensure_args_image",
    "ensure_faults_image",
    "ensure_features_image",
    "ensure_images",
    "ensure_rootfs_tarball",
    "ensure_time_image",
    "last_build",
    "recipe_sha",
]

TIME_IMAGE = "mcp-time:test"
FAULTS_IMAGE = "mcp-faults:test"
RECIPE_LABEL = "org.docker-mcp.tests.recipe"
VENV = "/opt/mcp"

# Everything that decides the content of the root file system: change any of it and the hash changes.
SUITE = "bookworm"
VARIANT = "minbase"
INCLUDE = ("python3", "python3-venv", "ca-certificates")
PIP_PACKAGES = ("mcp-server-time==2026.10.19", "mcp>=2.3,<3")
STRIP = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists")
RECIPE = {"format": 1, "suite": SUITE, "variant": VARIANT, "include": INCLUDE, "venv": VENV, "pip": PIP_PACKAGES,
          "strip": STRIP}  # fmt: skip
DEBIAN_MIRROR = os.environ.get("DOCKER_MCP_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

FAULTS_SERVER_SOURCE = r'''
"""mcp-faults: an MCP server (stdio) for the docker-mcp tests whose misbehaviour FAULT chooses."""

import os
import sys

FAULT = os.environ.get("FAULT", "none")
if os.environ.get("FAULT_FILE") and os.path.exists(os.environ["FAULT_FILE"]):
    with open(os.environ["FAULT_FILE"]) as f:
        FAULT = f.read().strip()
KNOWN = ("none", "exit-mid-call", "no-initialize", "garbage", "noisy", "slow")
if FAULT not in KNOWN:
    print(f"mcp-faults: unknown FAULT {FAULT!r}; one of {', '.join(KNOWN)}", file=sys.stderr)
    sys.exit(2)

# One line on stderr once it runs, so a test can tell "started and silent" from "not started yet".
print(f"mcp-faults: started, FAULT={FAULT}", file=sys.stderr, flush=True)

if FAULT == "no-initialize":
    for _line in sys.stdin:  # read everything, answer nothing
        pass
    sys.exit(0)

if FAULT == "garbage":
    print("mcp-faults: this is not JSON-RPC", flush=True)
    for line in sys.stdin:
        print(f"garbage in answer to {len(line)} bytes <<<not json>>>", flush=True)
    sys.exit(0)

import anyio  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.server.mcpserver.exceptions import ToolError  # noqa: E402

# The SDK moves fd 1 aside while it serves; "noisy" keeps a copy of the wire to write noise on.
WIRE = os.dup(1) if FAULT == "noisy" else None


def noise(text):
    if WIRE is not None:
        os.write(WIRE, f"mcp-faults noise: {text}\n".encode())


server = MCPServer("mcp-faults", version="1.0.0", instructions="Test server; FAULT=" + FAULT)


async def fault(tool):
    noise(f"calling {tool}")
    if FAULT == "exit-mid-call":
        print(f"mcp-faults: exiting in the middle of {tool}", file=sys.stderr, flush=True)
        os._exit(int(os.environ.get("FAULT_EXIT_CODE", "3")))
    if FAULT == "slow":
        await anyio.sleep(float(os.environ.get("FAULT_SLOW_SECONDS", "5")))


@server.tool(description="Return the text it was given.")
async def echo(text: str) -> str:
    await fault("echo")
    return text


@server.tool(description="Add two numbers.")
async def add(a: float, b: float) -> float:
    await fault("add")
    return a + b


@server.tool(name="echo-env", description="Return the value of an environment variable of the server.")
async def echo_env(name: str) -> str:
    await fault("echo-env")
    value = os.environ.get(name)
    if value is None:
        raise ToolError(f"{name} is not set")
    return value


noise("starting")
server.run()
'''


class BuildReport:
    """What the last ensure_* call did, and how long each step took (seconds)."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}

    def time(self, step: str, started: float) -> None:
        self.steps[step] = round(time.monotonic() - started, 2)

    def __repr__(self) -> str:
        return f"BuildReport({self.steps})"


last_build = BuildReport()


def recipe_sha() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:16]


def _faults_sha() -> str:
    return hashlib.sha256((recipe_sha() + FAULTS_SERVER_SOURCE).encode()).hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --- the root file system ------------------------------------------------------------------------


def _host_pip_settings() -> dict[str, str]:
    """The machine's index settings that make sense inside the chroot (http(s) indexes only).

    The machine's pip configuration (pip config list: files and PIP_* variables) may name a mirror
    of PyPI; file:// indexes and find-links are paths of this machine, absent from the chroot.
    """
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    found: dict[str, str] = {}
    for line in listing.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in ("index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout"):
            # :env: lines (the PIP_* variables) come last and win, as in pip
            found[name] = value.strip().strip("'\"")
    settings: dict[str, str] = {}
    for name, variable in (("index-url", "PIP_INDEX_URL"), ("extra-index-url", "PIP_EXTRA_INDEX_URL")):
        urls = [u for u in found.get(name, "").split() if u.startswith(("http://", "https://"))]
        if urls:
            settings[variable] = " ".join(urls)
    if found.get("trusted-host"):
        settings["PIP_TRUSTED_HOST"] = found["trusted-host"]
    timeout = found.get("default-timeout") or found.get("timeout")
    if timeout:
        settings["PIP_DEFAULT_TIMEOUT"] = timeout
    return settings


def _chroot_env() -> dict[str, str]:
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",  # the machine's bundle, copied in
        "PIP_NO_CACHE_DIR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "PIP_DEFAULT_TIMEOUT": "120",
    }
    env.update(_host_pip_settings())
    for proxy in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        if proxy in os.environ:
            env[proxy] = os.environ[proxy]
    return env


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise DockerEngineError(f"{what} failed ({' '.join(command)}, exit {result.returncode}):\n{tail}")


def _build_rootfs(root: Path, report: BuildReport) -> None:
    if shutil.which("debootstrap") is None:
        raise DockerEngineError("debootstrap is not installed: scripts/ensure-docker-engine-deps installs it")
    started = time.monotonic()
    _run(
        ["debootstrap", f"--variant={VARIANT}", "--include=" + ",".join(INCLUDE), SUITE, str(root), DEBIAN_MIRROR],
        "debootstrap",
    )
    report.time("debootstrap", started)
    started = time.monotonic()
    # The package index is reached through this machine's CA bundle: pip in the chroot needs it too.
    shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
    if not (root / "etc/resolv.conf").exists() and os.path.exists("/etc/resolv.conf"):
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    env = _chroot_env()
    _run(["chroot", str(root), "python3", "-m", "venv", VENV], "python3 -m venv in the chroot", env=env)
    _run(
        ["chroot", str(root), f"{VENV}/bin/pip", "install", "--quiet", *PIP_PACKAGES],
        "pip install in the chroot",
        env=env,
    )
    report.time("pip", started)
    for path in STRIP:
        target = root / path
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    (root / "etc/resolv.conf").unlink(missing_ok=True)  # docker provides its own


def ensure_rootfs_tarball(report: BuildReport | None = None) -> Path:
    """CACHE/rootfs-<sha>.tar, built with debootstrap and pip when it is not there yet."""
    report = report or last_build
    cache = cache_dir()
    tarball = cache / f"rootfs-{recipe_sha()}.tar"
    if tarball.exists():
        return tarball
    with _locked(cache / f"rootfs-{recipe_sha()}.lock"):
        if tarball.exists():  # another process built it while this one waited
            return tarball
        for stale in cache.glob(f"rootfs-{recipe_sha()}.build-*"):  # left by a build that was killed
            unmount_under(stale)
            shutil.rmtree(stale, ignore_errors=True)
        build = Path(tempfile.mkdtemp(prefix=f"rootfs-{recipe_sha()}.build-", dir=cache))
        try:
            root = build / "root"
            root.mkdir()
            _build_rootfs(root, report)
            started = time.monotonic()
            partial = build / "rootfs.tar"
            _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], "tar of the root file system")
            os.replace(partial, tarball)
            report.time("tar", started)
        finally:
            unmount_under(build)
            shutil.rmtree(build, ignore_errors=True)
    return tarball


# --- the images ------------------------------------------------------------------------------------


def _image_label(engine: DockerEngine, ref: str) -> str | None:
    result = engine.docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref, check=False)
    if result.returncode != 0:
        return None
    labels = json.loads(result.stdout or b"null") or {}
    return str(labels.get(RECIPE_LABEL, ""))


def _image_id(engine: DockerEngine, ref: str) -> str | None:
    result = engine.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.stdout.decode().strip() if result.returncode == 0 else None


def _drop_replaced(engine: DockerEngine, old_id: str | None, ref: str) -> None:
    if old_id and old_id != _image_id(engine, ref):
        engine.docker("image", "rm", old_id, check=False)  # only when nothing else uses it


def ensure_time_image(engine: DockerEngine, report: BuildReport | None = None) -> str:
    """``mcp-time:test`` in ``engine`` (imported from the cached root file system when missing or stale)."""
    report = report or last_build
    sha = recipe_sha()
    if _image_label(engine, TIME_IMAGE) == sha:
        return TIME_IMAGE
    old = _image_id(engine, TIME_IMAGE)
    tarball = ensure_rootfs_tarball(report)
    started = time.monotonic()
    engine.docker(
        "import",
        "--change", f'ENTRYPOINT ["{VENV}/bin/mcp-server-time"]',
        "--change", "ENV LANG=C.UTF-8",
        "--change", f"LABEL {RECIPE_LABEL}={sha}",
        "--message", f"docker-mcp tests: Debian bookworm minbase, {' '.join(PIP_PACKAGES)}",
        str(tarball), TIME_IMAGE,
    )  # fmt: skip
    report.time("import mcp-time", started)
    _drop_replaced(engine, old, TIME_IMAGE)
    return TIME_IMAGE


def _server_layer(folder: str, source: str) -> bytes:
    """A tar of /opt/<folder>/server.py holding `source`, for `docker cp - CONTAINER:/opt`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo(folder)
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        tar.addfile(directory)
        data = source.lstrip().encode()
        member = tarfile.TarInfo(f"{folder}/server.py")
        member.size = len(data)
        member.mode = 0o644
        tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _ensure_server_image(
    engine: DockerEngine,
    report: BuildReport,
    image: str,
    folder: str,
    source: str,
    sha: str,
    what: str,
    env: tuple[str, ...] = (),
) -> str:
    """`image` in `engine`: mcp-time:test plus /opt/<folder>/server.py (`source`) as its entrypoint, as one
    small layer labelled with `sha`; rebuilt only when the label differs."""
    if _image_label(engine, image) == sha:
        return image
    base = ensure_time_image(engine, report)
    old = _image_id(engine, image)
    started = time.monotonic()
    container = engine.docker("create", "--network", "none", base).stdout.decode().strip()
    try:
        engine.docker("cp", "-", f"{container}:/opt", input=_server_layer(folder, source))
        changes = [f'ENTRYPOINT ["{VENV}/bin/python", "/opt/{folder}/server.py"]', *(f"ENV {e}" for e in env)]
        engine.docker(
            "commit",
            *(arg for change in changes for arg in ("--change", change)),
            "--change", f"LABEL {RECIPE_LABEL}={sha}",
            "--message", f"docker-mcp tests: {what}",
            container, image,
        )  # fmt: skip
    finally:
        engine.docker("rm", "-f", container, check=False)
    report.time(f"commit {image.partition(':')[0]}", started)
    _drop_replaced(engine, old, image)
    return image


def ensure_faults_image(engine: DockerEngine, report: BuildReport | None = None) -> str:
    """``mcp-faults:test`` in ``engine``: mcp-time:test plus /opt/faults/server.py, as one small layer."""
    return _ensure_server_image(
        engine, report or last_build, FAULTS_IMAGE, "faults", FAULTS_SERVER_SOURCE, _faults_sha(),
        "the fault-injecting MCP server", env=("FAULT=none",),
    )  # fmt: skip


def ensure_images(engine: DockerEngine) -> dict[str, str]:
    """The time and faults images; returns {"time": "mcp-time:test", "faults": "mcp-faults:test"}."""
    return {"time": ensure_time_image(engine), "faults": ensure_faults_image(engine)}


ARGS_IMAGE = "mcp-args:test"
ARGS_SERVER_SOURCE = r'''
"""mcp-args: an MCP server (stdio) for the docker-mcp tests that shows its command-line arguments."""

import json
import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("mcp-args", version="1.0.0")


@server.tool(description="The server's command-line arguments, as a JSON list.")
async def argv() -> str:
    return json.dumps(sys.argv[1:])


@server.tool(name="expanded-argv", description="The arguments with $VAR and ${VAR} expanded from the environment.")
async def expanded_argv() -> str:
    return json.dumps([os.path.expandvars(arg) for arg in sys.argv[1:]])


server.run()
'''


def _args_sha() -> str:
    return hashlib.sha256((recipe_sha() + ARGS_SERVER_SOURCE).encode()).hexdigest()[:16]


def ensure_args_image(engine: DockerEngine, report: BuildReport | None = None) -> str:
    """``mcp-args:test`` in ``engine``: mcp-time:test plus /opt/args/server.py, as one small layer."""
    return _ensure_server_image(
        engine, report or last_build, ARGS_IMAGE, "args", ARGS_SERVER_SOURCE, _args_sha(),
        "the argument-showing MCP server",
    )  # fmt: skip


FEATURES_IMAGE = "mcp-features:test"
FEATURES_SERVER_PATH = Path(__file__).resolve().parent.parent / "servers" / "features.py"


def _features_sha() -> str:
    return hashlib.sha256((recipe_sha() + FEATURES_SERVER_PATH.read_text()).encode()).hexdigest()[:16]


def ensure_features_image(engine: DockerEngine, report: BuildReport | None = None) -> str:
    """``mcp-features:test`` in ``engine``: mcp-time:test plus tests/servers/features.py as
    /opt/features/server.py (stdio; ``--modern-only`` in a catalog's ``command`` makes it a 2026-07-28-only
    server), as one small layer, rebuilt when that file changes."""
    return _ensure_server_image(
        engine, report or last_build, FEATURES_IMAGE, "features", FEATURES_SERVER_PATH.read_text(), _features_sha(),
        "the MCP server that uses every server-to-client feature",
    )  # fmt: skip
