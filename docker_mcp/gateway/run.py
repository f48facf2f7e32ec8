"""`docker mcp gateway run`: load the configuration, connect every server, aggregate, then serve the
front transport (stdio, streamable HTTP or SSE) until the client goes away or the docker CLI says stop,
reloading when a watched file changes. Logs go to stderr: stdout is the stdio channel."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import mcp_types as types

from ..catalog.schema import Server
from ..desktop.detect import DesktopMode
from ..errors import DockerMcpError
from ..secrets.resolver import SecretSources, resolve_secret
from ..secrets.store import CredentialStore
from .aggregate import Aggregator
from .backends import Backend, BackendError, HttpStatus, SessionBackends, describe, expand_headers, remote_transport
from .config import GatewayConfig
from .front import Shutdown
from .lane import Wire

log = logging.getLogger("docker_mcp.gateway")
calls = logging.getLogger("docker_mcp.gateway.calls")  # --log-calls: on by default, whatever --verbose says
T = TypeVar("T")


@dataclass(frozen=True)
class RunOptions:
    transport: str = "stdio"
    dry_run: bool = False
    verbose: bool = False
    long_lived: bool = False  # one container per server for the whole session, not one per call
    cpus: int = 1
    memory: str = "2Gb"
    gateway_id: str = ""  # labels this gateway's containers, for clean-up
    host: str = "127.0.0.1"
    port: int = 8811
    token: str | None = None  # the bearer token HTTP clients must send (None: authentication off)
    log_calls: bool = True  # log each tool call's name, its arguments' shape and its duration
    watch: bool = False  # reload when a registry, config or tools file changes
    stateless: bool = False  # streamable HTTP without sessions: any replica answers any request


def backend_builder(
    config_dir: str | None, config: GatewayConfig, options: RunOptions, mode: DesktopMode | None = None
) -> Callable[[Server], Backend]:
    """How the gateway (and `docker mcp tools`) builds each server's backend: the credential store is
    opened, and the token sources made, only when a server needs them. `mode`: Desktop or CE mode,
    detected once for the whole run (at the first server that needs to know)."""
    from ..dockercli import home_dir
    from ..oauth.flow import secret_lookup
    from ..oauth.token_endpoint import oauth_session
    from ..oauth.tokens import Refresher
    from ..secrets.store import open_store

    run_mode = mode or DesktopMode(home_dir())
    opened: list[CredentialStore] = []
    refreshers: list[Refresher] = []
    desktop: list[Any] = []

    def store() -> CredentialStore:
        if not opened:
            opened.append(open_store(config_dir, desktop_mode=run_mode.desktop))
        return opened[0]

    sources = SecretSources.from_environment(store=store, env_files=config.env_files)

    def refresher() -> Refresher:
        if not refreshers:
            lookup = lambda record: secret_lookup(config.servers[record.server_name], sources)(record)  # noqa: E731
            first = lambda name: _first_machine_token(config.servers.get(name), store(), sources)  # noqa: E731
            refreshers.append(Refresher(store(), lookup, lambda record: oauth_session(record), first_token=first))
        return refreshers[0]

    def desktop_tokens() -> Any:
        if not desktop:
            from ..desktop.api import DesktopClient
            from ..desktop.secrets_engine import SecretsEngineClient
            from ..oauth.desktop import DesktopTokens

            desktop.append(DesktopTokens(SecretsEngineClient(run_mode.home), DesktopClient(run_mode.home)))
        return desktop[0]

    def token_source(server: Server) -> Any:
        return _token_source(server, store, refresher, desktop_tokens if run_mode.desktop else None)

    return lambda server: make_backend(server, sources, token_source, config, options)


def _first_machine_token(server: Server | None, store: CredentialStore, sources: SecretSources) -> Any:
    """The first token of a server whose catalog client uses the client_credentials grant (SEP-1046), got
    and stored as `oauth authorize` would (no browser is involved); None for any other server, which
    stays "not authorized" until the user authorizes it. Its lines go to the log (stdout is stdio's)."""
    from ..oauth.flow import authorize_client_credentials, uses_client_credentials

    if server is None or not uses_client_credentials(server):
        return None
    log.info("> %s: getting its first token (client_credentials grant)", server.name)
    return authorize_client_credentials(server, store, sources, None, lambda line: log.info("  - %s", line))


def make_backend(
    server: Server,
    sources: SecretSources,
    token_source: Callable[[Server], Any],
    config: GatewayConfig,
    options: RunOptions,
) -> Backend:
    """The backend for one server, or BackendError saying why it cannot run here."""
    if server.type == "remote" or (not server.image and (server.remote.url or server.sse_endpoint)):
        from ..oauth.errors import OAuthError
        from ..oauth.http import check_url

        try:  # the rule OAuth's URLs follow, as the Go gateway applies it to remote connections too
            check_url(server.remote.url or server.sse_endpoint, "remote server URL")
        except OAuthError as e:
            raise BackendError(f"{server.name}: {e}") from None
        headers = expand_headers(server, lambda name, env: resolve_secret(name, env, sources).value)
        auth = None
        tokens = token_source(server)
        if tokens is not None:
            from .auth import BearerToken

            auth = BearerToken(tokens, server.name)
        keyed = any(name.lower() == "authorization" for name in headers)  # a key of its own: not OAuth's to fix
        http = HttpStatus(
            server.name,
            _challenged_scopes_keeper(tokens, server.name),
            sends_token=tokens is not None or keyed,
            sent=lambda: _sent(auth, headers),
        )
        return Backend(server.name, remote_transport(server, headers, auth, http), auth=auth, http=http, shared=True)
    if server.image:
        return _container_backend(server, sources, config, options)
    raise BackendError(f"{server.name}: neither an image nor a remote.url: nothing to run")


def _sent(auth: Any, headers: dict[str, str]) -> tuple[str, ...]:
    """The credentials a remote server is sent: its header values and the bearer token in use."""
    token = getattr(auth, "_token", None)
    held = (token.access_token, token.refresh_token) if token is not None else ()
    return (*headers.values(), *held)


def _challenged_scopes_keeper(tokens: Any, server: str) -> Callable[[tuple[str, ...]], Any] | None:
    """Where a 403 insufficient_scope's scopes are kept for the next `oauth authorize`: the client record
    in the local token store (a Docker Desktop token has none: Desktop authorizes)."""
    store = getattr(tokens, "store", None)
    if store is None:
        return None
    from ..oauth.clients import add_challenged_scopes

    return lambda scopes: add_challenged_scopes(store, server, scopes)


def _container_backend(server: Server, sources: SecretSources, config: GatewayConfig, options: RunOptions) -> Backend:
    import contextlib

    from .containers import ContainerOptions, docker_executable, docker_run

    def secret_value(name: str, env: str) -> str:
        try:
            value = resolve_secret(name, env, sources)
        except DockerMcpError as e:
            log.warning("! %s: %s", server.name, e)
            return "<UNKNOWN>"
        if options.verbose:
            log.info("    - %s: from %s", env, value.source)  # where from, never the value
        return value.value

    run = docker_run(
        server,
        config.settings,
        secret_value,
        ContainerOptions(cpus=options.cpus, memory=options.memory, gateway_id=options.gateway_id),
    )
    docker = docker_executable()
    log.info("  - %s", run.log_line())  # argv holds names of secrets, never values: safe to show whole

    @contextlib.asynccontextmanager
    async def open_transport() -> Any:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        from .containers import DockerSays

        params = StdioServerParameters(command=docker, args=run.argv, env=run.env)
        if options.verbose:  # the server's own stderr, as it comes
            async with stdio_client(params, errlog=sys.stderr) as streams:
                yield Wire(streams[0], streams[1]), streams[1]  # the lane's way to the server (lane.py)
            return
        says = DockerSays()  # otherwise only docker's own error, when `docker run` fails
        try:
            async with stdio_client(params, errlog=says.file) as streams:
                says.spawned()
                try:
                    yield Wire(streams[0], streams[1]), streams[1]
                except Exception:
                    said = await anyio.to_thread.run_sync(says.said, DOCKER_SAYS_WAIT)
                    if said:  # the container did not start: what docker said, not "Connection closed"
                        raise BackendError(said) from None  # the server's name is put before it once, above
                    raise
        finally:
            says.close()

    return Backend(server.name, open_transport, long_lived=server.long_lived or options.long_lived)


DOCKER_SAYS_WAIT = 0.5  # seconds a failed container server's docker CLI is given to finish its error line


def _token_source(
    server: Server,
    open_store: Callable[[], CredentialStore],
    refresher: Callable[[], Any],
    desktop_tokens: Callable[[], Any] | None,
) -> Any:
    """Where a remote server's bearer token comes from (None: it sends none). In Desktop mode (when
    `desktop_tokens` is given), Desktop's tokens for the servers Desktop authorizes: always for one with
    an `oauth` block, else when Desktop holds a token for it (the Go gateway connects it without one
    otherwise). Else the local store's, for a server with an `oauth` block or a stored client."""
    if desktop_tokens is not None:
        from ..oauth.desktop import desktop_authorizes

        if desktop_authorizes(server):
            tokens = desktop_tokens()
            if server.oauth is not None or tokens.has_token(server.name):
                return tokens
    return refresher() if _uses_oauth(server, open_store) else None


def _uses_oauth(server: Server, open_store: Callable[[], CredentialStore]) -> bool:
    if server.oauth is not None:
        return True
    from ..oauth.clients import load_client

    try:
        return load_client(open_store(), server.name) is not None  # authorized by dynamic registration
    except Exception:
        return False


CONNECT_CONCURRENCY = 8  # servers connected at once at start and on reload


def on_terminal() -> bool:
    """Whether the gateway's stderr is a terminal: progress on slow steps is shown there only (a client's
    pipe or a container's log gets the usual lines). Never stdout: that is the stdio channel."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


class Images:
    """The images of the container servers being connected, made present on the engine first: a missing
    one is pulled, as the Go gateway does (go-plugin-gateway.md §8.3; it runs `docker run --pull never`
    after), each image once however many servers use it. On a terminal, docker's own progress display
    shows each pull, one at a time; elsewhere pulls run side by side and quietly. A failed pull fails
    that server (BackendError naming `docker pull IMAGE`), not the gateway."""

    def __init__(self, progress: bool) -> None:
        self.progress = progress
        self._ready: dict[str, anyio.Event] = {}
        self._failed: dict[str, BaseException] = {}
        self._one_display = anyio.Lock()

    async def ensure(self, image: str) -> None:
        """Return once `image` is on the engine; raise BackendError when it is not and cannot be pulled,
        or when the engine cannot be asked."""
        if image in self._ready:
            await self._ready[image].wait()
        else:
            self._ready[image] = anyio.Event()
            try:
                await self._make_present(image)
            except Exception as e:
                self._failed[image] = e
                raise
            finally:
                self._ready[image].set()
        failed = self._failed.get(image)
        if failed is not None:
            raise failed

    async def _make_present(self, image: str) -> None:
        from .containers import image_present, pull_image

        if await anyio.to_thread.run_sync(image_present, image):
            return
        async with self._one_display if self.progress else contextlib.nullcontext():
            log.warning("- Pulling %s (not on the Docker engine)...", image)
            started = time.monotonic()
            await anyio.to_thread.run_sync(pull_image, image, self.progress)
            log.warning("> Pulled %s in %.1fs", image, time.monotonic() - started)


async def connect_all(
    config: GatewayConfig,
    tg: Any,
    build: Callable[[Server], Backend],
    aggregator: Aggregator,
    running: dict[str, Backend] | None = None,
    advertise: types.ClientCapabilities | None = None,
    discover_first: bool = False,
) -> list[str]:
    """Connect every server (but those `running` already); one that cannot connect is reported and left
    out. `advertise`: the client capabilities to announce to a server before a client is known (the
    gateway forwards them; None for `docker mcp tools`). `discover_first`: `docker mcp tools`, which
    negotiates as the SDK's auto mode does (backends.handshake). Returns the problems."""
    problems: list[str] = []
    for name in config.vanished:
        problems.append(f"{name}: enabled, but no configured catalog has it any more")
    connected: dict[str, Backend] = {}
    failed: dict[str, str] = {}
    bound = anyio.Semaphore(CONNECT_CONCURRENCY)
    images = Images(progress=on_terminal())

    async def connect(name: str, server: Server) -> None:
        async with bound:
            try:
                backend = build(server)  # first: a server that cannot run here needs no image
                if server.image and server.type != "remote":
                    await images.ensure(server.image)
                backend.peer.advertise, backend.peer.discover_first = advertise, discover_first
                await backend.start(tg)
            except Exception as e:
                failed[name] = describe(e) if str(e).startswith(name) else f"{name}: {describe(e)}"
                return
            connected[name] = backend

    # concurrently (a server that never answers holds up only itself), then added in configuration order
    async with anyio.create_task_group() as starting:
        for name, server in config.servers.items():
            if not (running and name in running):
                starting.start_soon(connect, name, server)
    for name in config.servers:
        if running and name in running:
            await aggregator.add(running[name])
        elif name in connected:
            await aggregator.add(connected[name])  # a collision stops the gateway: it is a configuration error
        else:
            problems.append(failed[name])
    for problem in problems:
        log.warning("! %s", problem)
    left_out = [*config.vanished, *(name for name in config.servers if name in failed)]
    expected = len(config.servers) + len(config.vanished)
    if left_out and len(left_out) < expected:  # some, not all: say which, once, after their reasons
        log.warning("! %d of %d servers could not be connected: %s", len(left_out), expected, ", ".join(left_out))
    return problems


def none_connected(config: GatewayConfig, aggregator: Aggregator) -> DockerMcpError | None:
    """The error when servers were to be connected and not one was (each one's reason was logged before):
    `gateway run` (--dry-run included) and `docker mcp tools` exit 1 with it. None otherwise: some
    failing is reported on stderr only, exit 0, as `docker compose up` carries on with the services
    that start."""
    expected = len(config.servers) + len(config.vanished)
    if expected and not aggregator.backends():
        return DockerMcpError(
            f"none of the {expected} servers could be connected (see the lines above)"
            if expected > 1
            else "the server could not be connected (see the line above)"
        )
    return None


class Live:
    """What the front serves: the aggregate, replaced as a whole when --watch reloads the configuration,
    and the client connections to tell when it changes."""

    def __init__(self, config: GatewayConfig, aggregator: Aggregator) -> None:
        import weakref

        self.config, self.aggregator = config, aggregator
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._changes: dict[str, set[str]] = {}  # server -> list_changed notices awaiting a re-listing
        self.sessions: SessionBackends | None = None  # the HTTP fronts' per-session connections
        self.listen()

    def connection(self, ctx: Any) -> Any:
        """The client connection a request came on (the SDK keeps it on the request's session)."""
        connection = getattr(ctx.session, "_connection", None)
        if connection is not None:
            self.connections.add(connection)
        return connection

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether every server of the configuration is connected (a server that failed to connect
        stays out until a reload), and the body of `/ready`: {"ready", "connected": [names],
        "notConnected": [names]}. No server at all is not ready: there is nothing to serve."""
        connected = {b.name for b in self.aggregator.backends()}
        expected = list(self.config.servers) + [n for n in self.config.vanished if n not in self.config.servers]
        missing = [name for name in expected if name not in connected]
        ready = bool(connected) and not missing
        return ready, {"ready": ready, "connected": sorted(connected), "notConnected": missing}

    def listen(self) -> None:
        """Have every server's list_changed come here."""
        for backend in self.aggregator.backends():
            backend.peer.on_list_changed = self.changed

    async def changed(self, name: str, method: str = "notifications/tools/list_changed") -> None:
        """Server `name` said a list of its changed (`method`): list it again and serve the new aggregate
        (a name that now collides is reported and the current aggregate kept), then tell the clients
        that list changed. Coalesced: while a re-listing runs, more of the server's notices make one
        more re-listing, not one each."""
        kinds = self._changes.setdefault(name, set())
        running = bool(kinds)
        kinds.add(method)
        if running:
            return
        try:
            while kinds:
                told = set(kinds)
                current = self.aggregator
                backend = next((b for b in current.backends() if b.name == name), None)
                if backend is None:
                    return
                try:
                    await backend.relist()
                    aggregator = Aggregator(self.config)
                    for b in current.backends():
                        await aggregator.add(b)
                except Exception as e:
                    log.warning("! %s: its lists changed, but they cannot be served: %s", name, describe(e))
                    return
                kinds -= told
                log.info("> %s: lists changed; %d tools now", name, len(aggregator.routes))
                await self.replace(self.config, aggregator, {m.split("/")[1] for m in told})
        finally:
            self._changes.pop(name, None)

    async def replace(self, config: GatewayConfig, aggregator: Aggregator, kinds: set[str] | None = None) -> None:
        """Serve `aggregator` and tell every client its lists changed (`kinds`: "tools", "prompts",
        "resources"; None: all three)."""
        self.config, self.aggregator = config, aggregator
        self.listen()
        if self.sessions is not None:
            await self.sessions.retire(aggregator.backends())
        wanted = kinds or {"tools", "prompts", "resources"}
        notices = [
            f"send_{kind.removesuffix('s')}_list_changed"
            for kind in ("tools", "prompts", "resources")
            if kind in wanted
        ]
        for connection in list(self.connections):
            for notify in notices:
                try:
                    await getattr(connection, notify)()
                except Exception as e:  # a client gone meanwhile: nothing to tell
                    log.info("  - could not notify a client: %s", describe(e))
                    break


Builder = Callable[[GatewayConfig], Callable[[Server], Backend]]  # a configuration's backend factory


async def serve(
    config: GatewayConfig,
    options: RunOptions,
    builder: Builder,
    reload: Callable[[], GatewayConfig] | None = None,
    watched: list[str] | None = None,
) -> int:
    """Serve `config`; with options.watch, re-read it with `reload` whenever a `watched` file changes."""
    try:
        with _logging_off_the_loop():
            return await _serve(config, options, builder, reload, watched or [])
    except BaseExceptionGroup as group:
        # the task group wraps what stops the gateway (e.g. a tool-name collision): report that one error
        actionable = [e for e in _leaves(group) if isinstance(e, DockerMcpError)]
        if actionable:
            raise actionable[0] from None
        raise
    finally:
        if options.gateway_id and any(s.image and s.type != "remote" for s in config.servers.values()):
            await anyio.to_thread.run_sync(_remove_leftovers, options.gateway_id)


LOG_BATCH_SECONDS = 0.05  # how long the log thread gathers lines after the first of a burst (seconds)


@contextlib.contextmanager
def _logging_off_the_loop() -> Any:
    """While the gateway serves, its log lines (two per tool call with --log-calls) are written to stderr
    by a thread of their own, in order: a slow reader of stderr, or the formatting, never holds up the
    event loop. The thread wakes on the first line of a burst and writes what came in the next
    LOG_BATCH_SECONDS (0.05 s) together: woken per line (logging.handlers.QueueListener), it took the GIL
    from the loop twice per tool call (0.1-0.2 ms of a 3 ms call, scripts/bench gateway). Every line is
    written before this returns, at once."""
    import logging.handlers
    import queue
    import threading

    logger = logging.getLogger("docker_mcp.gateway")
    handlers = list(logger.handlers)
    if not handlers:
        yield
        return
    lines: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(lines, *handlers, respect_handler_level=True)

    stopping = threading.Event()

    def write() -> None:
        done = False
        while not done:
            batch = [lines.get()]
            stopping.wait(LOG_BATCH_SECONDS)
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(lines.get_nowait())
            for record in batch:
                if record is None:
                    done = True
                else:
                    listener.handle(record)

    class Handover(logging.handlers.QueueHandler):
        def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
            return record  # formatted by the thread: a thread's queue needs no copy ready for pickling

    thread = threading.Thread(target=write, name="docker-mcp-log", daemon=True)
    logger.handlers[:] = [Handover(lines)]
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        lines.put(None)
        thread.join(timeout=5)  # writes what is queued, at once (a stderr nobody reads holds no exit)
        logger.handlers[:] = handlers


def _remove_leftovers(gateway_id: str) -> None:
    from .containers import NoEngine, remove_containers

    try:
        removed = remove_containers(gateway_id)
    except NoEngine as e:  # a gateway of remote servers only may run without one
        log.debug("> no Docker engine answered (%s): no containers of this gateway to remove", e)
        return
    except Exception as e:  # the engine may be gone too; say so, do not fail the exit
        log.warning("! could not remove this gateway's containers: %s", describe(e))
        return
    if removed:
        log.info("> Removed %d leftover containers", removed)


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    out: list[BaseException] = []
    for e in group.exceptions:
        out += _leaves(e) if isinstance(e, BaseExceptionGroup) else [e]
    return out


def _wait_for_cli_hangup(address: str) -> bool:
    """The docker CLI tells a plugin to stop by closing the connection to DOCKER_CLI_PLUGIN_SOCKET
    (go-plugin-plumbing.md §1.3): it does on SIGTERM; a Ctrl-C on a terminal reaches the plugin itself
    (same process group) and the CLI waits for it. Block until the CLI hangs up (True), or return False
    at once when there is no CLI to listen to."""
    import socket

    path = "\0" + address[1:] if address.startswith("@") else address  # "@name": an abstract socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(path)
        except OSError:
            return False
        try:
            while conn.recv(4096):
                pass
        except OSError:  # reset: the CLI is gone as well
            pass
    return True


def _stop_when_the_cli_says(stop: Shutdown) -> None:
    """Have `stop` told when the gateway is asked to stop: SIGINT (Ctrl-C; at once, exit code 130),
    SIGTERM and SIGHUP (gracefully), and the docker CLI's hangup, watched from a daemon thread (a blocked
    worker thread would keep the process from exiting). The handlers go when the event loop closes."""
    import asyncio
    import signal
    import threading

    loop = asyncio.get_running_loop()
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # signals reach the main thread only
        loop.add_signal_handler(signal.SIGINT, stop.request, "interrupted", False, 130)
        loop.add_signal_handler(signal.SIGTERM, stop.request, "SIGTERM received")
        loop.add_signal_handler(signal.SIGHUP, stop.request, "SIGHUP received")
    address = os.environ.get("DOCKER_CLI_PLUGIN_SOCKET")
    if not address:
        return

    def watch() -> None:
        if _wait_for_cli_hangup(address):
            with contextlib.suppress(RuntimeError):  # the event loop is closed: the gateway already finished
                loop.call_soon_threadsafe(stop.request, "the docker CLI asked the gateway to stop")

    threading.Thread(target=watch, name="docker-cli-socket", daemon=True).start()


def _remove_orphans() -> None:
    from .containers import remove_orphans

    try:
        removed = remove_orphans()
    except Exception as e:  # no engine reachable: the container servers will say so themselves
        log.info("> could not look for containers left by a killed gateway: %s", describe(e))
        return
    if removed:
        log.warning("> Removed %d containers left by a gateway that was killed", removed)


async def _serve(
    config: GatewayConfig,
    options: RunOptions,
    builder: Builder,
    reload: Callable[[], GatewayConfig] | None,
    watched: list[str],
) -> int:
    if options.gateway_id and any(s.image and s.type != "remote" for s in config.servers.values()):
        await anyio.to_thread.run_sync(_remove_orphans)
    aggregator = Aggregator(config)
    async with anyio.create_task_group() as tg:
        stop = Shutdown(tg.cancel_scope.cancel)  # how a stop request reaches what is being served
        _stop_when_the_cli_says(stop)
        from .router import full_client_capabilities

        # stdio: the one client is not known yet, so the servers are told every capability; HTTP: the
        # servers' shared connections serve only client sessions that declared none (see SessionBackends);
        # stateless HTTP: no session at all, every connection is shared by the requests (as on stdio)
        http = options.transport != "stdio"
        per_session = http and not options.stateless
        advertise = None if http else full_client_capabilities()
        if on_terminal() and config.servers:  # connecting takes seconds (containers): say what is starting
            log.warning("- Starting %s...", ", ".join(config.servers))
        started = time.monotonic()
        await connect_all(config, tg, builder(config), aggregator, advertise=advertise)
        watching = options.watch and reload is not None and not options.dry_run
        failure = none_connected(config, aggregator)
        if failure is not None and not watching:
            # nothing to serve, and nothing will change that (no --watch): a clean failure an orchestrator
            # sees and restarts, rather than a gateway that answers with no tools; a dry run says so too
            raise failure
        if not (config.servers or config.vanished or options.dry_run or watching):
            raise DockerMcpError(
                "no server to serve: enable one (docker mcp server enable NAME) or name them with --servers"
            )
        if on_terminal() and aggregator.backends() and not options.dry_run:  # a dry run lists them below
            log.warning(
                "> %d tools from %d servers, connected in %.1fs",
                len(aggregator.routes),
                len(aggregator.backends()),
                time.monotonic() - started,
            )
        live = Live(config, aggregator)
        if per_session:  # the per-session ones were for the listing: sessions get their own
            await _stop_long_lived([b for b in aggregator.backends() if not b.shared])
        if options.watch and reload is not None and not options.dry_run:
            # unlike the Go gateway, a file missing at start is watched too: creating tools.yaml counts
            log.warning("- Watching for configuration updates...")
            tg.start_soon(_watch, watched, lambda: _reload(live, tg, builder, reload, advertise, per_session))
        if not options.dry_run:
            import gc

            # what start-up made (the SDK's and pydantic's modules, the listings) lives as long as the
            # gateway: the collector stops walking it, which a call's garbage would otherwise cost
            gc.freeze()
        if options.dry_run:
            _print_dry_run(aggregator)
        elif options.transport == "stdio":
            from mcp.server.stdio import stdio_server

            from .router import front_server

            server = front_server(live, log_calls=options.log_calls)
            log.info("> Gateway ready: %d tools from %d servers, on stdio", len(aggregator.routes), len(config.servers))
            from .front import stdio_pipes

            with anyio.CancelScope() as serving:  # a stop ends stdio at once, whatever is in flight
                stop.front = lambda grace: serving.cancel()
                async with stdio_pipes() as (stdin, stdout), stdio_server(stdin, stdout) as (read, write):
                    await server.run(read, write, server.create_initialization_options())
            stop.front = None
        else:
            from .front import BearerGate, http_app, listen, serve_http

            path = "/mcp" if options.transport == "streaming" else "/sse"
            sock = listen(options.host, options.port)  # a port in use is one error line, before any announcement
            live.sessions = SessionBackends(tg) if per_session else None
            from .router import front_server

            server = front_server(live, live.sessions, options.log_calls, stateless=options.stateless)
            front = http_app(server, options.transport, options.host, stateless=options.stateless)
            app = BearerGate(front, options.token, live.readiness)
            stateless = " (stateless)" if options.stateless else ""
            log.warning("> Start %s server%s on port %d", options.transport, stateless, options.port)
            log.warning("> Gateway URL: http://localhost:%d%s", options.port, path)
            await serve_http(app, sock, stop)
        tg.cancel_scope.cancel()
    return stop.exit_code


async def _stop_long_lived(backends: list[Backend]) -> None:
    for backend in backends:
        if backend.long_lived:
            await backend.stop()


WATCH_INTERVAL = 0.25  # seconds between looks at the watched files
WATCH_QUIET = 0.3  # a change is acted on once the files have been still this long


async def _watch(files: list[str], changed: Callable[[], Awaitable[None]]) -> None:
    """Poll the files' size and mtime (no third-party watcher: the gateway also runs in containers and
    on network file systems); after a change and WATCH_QUIET seconds of stillness, call `changed`."""

    def look() -> list[tuple[float, int] | None]:
        out: list[tuple[float, int] | None] = []
        for f in files:
            try:
                st = os.stat(f)
                out.append((st.st_mtime, st.st_size))
            except OSError:
                out.append(None)
        return out

    seen = look()
    while True:
        await anyio.sleep(WATCH_INTERVAL)
        now = look()
        if now == seen:
            continue
        while True:  # wait for the writer to finish
            seen = now
            await anyio.sleep(WATCH_QUIET)
            now = look()
            if now == seen:
                break
        await changed()


async def _reload(
    live: Live,
    tg: Any,
    builder: Builder,
    reload: Callable[[], GatewayConfig],
    advertise: types.ClientCapabilities | None,
    per_session: bool,
) -> None:
    """Re-read the configuration and serve it: servers whose entry and settings did not change keep their
    connection; the others are connected anew (told `advertise`; with `per_session`, the long-lived
    ones only listed, each client session getting its own). A configuration that cannot be served
    (unreadable, a name collision) is reported, and the current one kept."""
    try:
        config = await anyio.to_thread.run_sync(reload)
    except Exception as e:
        log.warning("Error reading configuration: %s", describe(e))
        return
    log.warning("> Configuration updated, reloading...")
    old = live.config
    current = {b.name: b for b in live.aggregator.backends()}
    same_settings = old.settings == config.settings and old.env_files == config.env_files
    running = {
        name: backend
        for name, backend in current.items()
        if same_settings and old.servers.get(name) == config.servers.get(name)
    }
    aggregator = Aggregator(config)
    try:
        await connect_all(config, tg, builder(config), aggregator, running, advertise)
    except Exception as e:
        log.warning("> Unable to list capabilities: %s", describe(e))
        await _stop_long_lived([b for b in aggregator.backends() if b.name not in running])
        return
    if per_session:
        await _stop_long_lived([b for b in aggregator.backends() if b.name not in running and not b.shared])
    await _stop_long_lived([b for name, b in current.items() if name not in running])
    await live.replace(config, aggregator)
    log.warning("> %d tools from %d servers", len(aggregator.routes), len(aggregator.backends()))


async def with_aggregator(
    config: GatewayConfig, build: Callable[[Server], Backend], body: Callable[[Aggregator], Any]
) -> Any:
    """Connect the servers as the gateway does, run `body` against the aggregate, and disconnect: what
    `docker mcp tools …` uses to see the tools as a client of the gateway would."""
    aggregator = Aggregator(config)
    try:
        async with anyio.create_task_group() as tg:
            await connect_all(config, tg, build, aggregator, discover_first=True)
            failure = none_connected(config, aggregator)
            if failure is not None:
                raise failure
            result = await body(aggregator)
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        actionable = [e for e in _leaves(group) if isinstance(e, DockerMcpError)]
        if actionable:
            raise actionable[0] from None
        raise
    return result


def _print_dry_run(aggregator: Aggregator) -> None:
    by_server: dict[str, list[str]] = {}
    for name, route in aggregator.routes.items():
        by_server.setdefault(route.backend.name, []).append(name)
    for server, tools in sorted(by_server.items()):
        sys.stderr.write(f"> {server}: {len(tools)} tools: {', '.join(sorted(tools))}\n")
    sys.stderr.write(f"> Dry run: {len(aggregator.routes)} tools; not serving\n")


class StampedFormatter(logging.Formatter):
    """The gateway's lines in a container, where `docker logs` and a log collector read them: the time
    (UTC, RFC 3339 with milliseconds) and a level before each, `2026-12-01T03:22:10.123Z INFO  > Start …`.
    The gateway's lines carry their own marker (`>` progress, `-` detail, `!` a problem), as the Go
    gateway's do, and are logged at WARNING to show without --verbose: the level shown follows the
    marker (`!` or `Warning`: WARN), ERROR and above stay ERROR, the rest is INFO."""

    def format(self, record: logging.LogRecord) -> str:
        import time

        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            level = "ERROR"
        elif message.startswith(("!", "Warning")):
            level = "WARN"
        else:
            level = "INFO"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = f"{stamp}.{int(record.msecs):03d}Z {level:<5} {message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(verbose: bool, log_calls: bool = False) -> None:
    """The gateway's log on stderr (stdout is the stdio channel): bare lines on a terminal or a client's
    pipe, StampedFormatter's in a container (DOCKER_MCP_IN_CONTAINER=1)."""
    handler = logging.StreamHandler(sys.stderr)
    in_container = os.environ.get("DOCKER_MCP_IN_CONTAINER") == "1"
    handler.setFormatter(StampedFormatter() if in_container else logging.Formatter("%(message)s"))
    logger = logging.getLogger("docker_mcp.gateway")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False
    calls.setLevel(logging.INFO if log_calls or verbose else logging.WARNING)
    # no formatter of the gateway shows where a line was logged, or the thread or process: records skip
    # looking them up (the logging HOWTO's "Optimization"), two records a tool call with --log-calls
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
