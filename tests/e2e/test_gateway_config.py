"""Where `docker mcp gateway run` reads its configuration (--catalog, --additional-catalog, --registry,
--config, --tools-config), --watch reloading it while a client is connected, and --log-calls; through
the built zipapp and the docker CLI, in front of real MCP SDK servers."""

from __future__ import annotations

import os

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.e2e.conftest import DOCKER
from tests.e2e.test_gateway_remote import import_remote
from tests.servers.mcp_remote import RemoteMcpServer

PLANTED = "PLANTED-argument-value-4411"


def remote_catalog(path, name: str, servers: dict[str, str]) -> None:
    entries = "".join(f"  {n}:\n    type: remote\n    remote:\n      url: {url}\n" for n, url in servers.items())
    path.write_text(f"name: {name}\nregistry:\n{entries}")


def test_catalog_registry_and_tools_files_given_on_the_command_line(gateway_user, tmp_path):
    with RemoteMcpServer(auth=None, tool_prefix="one") as one, RemoteMcpServer(auth=None, tool_prefix="two") as two:
        remote_catalog(tmp_path / "a.yaml", "a", {"one": one.url})
        remote_catalog(tmp_path / "b.yaml", "b", {"two": two.url})
        (tmp_path / "reg.yaml").write_text("registry:\n  one: {}\n  two: {}\n")
        (tmp_path / "tools.yaml").write_text("two: [two_echo]\n")
        files = ["--catalog", str(tmp_path / "a.yaml"), "--additional-catalog", str(tmp_path / "b.yaml")]
        files += ["--registry", str(tmp_path / "reg.yaml"), "--tools-config", str(tmp_path / "tools.yaml")]
        r = gateway_user.docker("mcp", "gateway", "run", "--dry-run", *files)
        assert r.returncode == 0, r.stderr
        assert "> one: 3 tools: one_add, one_echo, one_whoami" in r.stderr
        assert "> two: 1 tools: two_echo" in r.stderr

        # without --additional-catalog, two is in no catalog read: reported, one is served
        r = gateway_user.docker("mcp", "gateway", "run", "--dry-run", *files[:2], *files[4:])
        assert r.returncode == 0, r.stderr
        assert "! two: enabled, but no configured catalog has it any more" in r.stderr
        assert "> one: 3 tools" in r.stderr

        r = gateway_user.docker("mcp", "gateway", "run", "--dry-run", "--catalog", "nosuch")
        assert r.returncode == 1
        assert r.stderr.strip().endswith(
            'catalog "nosuch" not found: give a catalog name (docker mcp catalog ls), a file or an https URL'
        )
        r = gateway_user.docker("mcp", "gateway", "run", "--enable-all-servers", "--servers", "one")
        assert r.returncode == 125 and "cannot use --enable-all-servers with --servers flag" in r.stderr
        r = gateway_user.docker("mcp", "gateway", "run", "--port", "9000")
        assert r.returncode == 125 and "cannot use --port with --transport=stdio" in r.stderr


def test_watch_reloads_the_enabled_servers_and_tools_and_tells_the_client(gateway_user, tmp_path):
    with (
        RemoteMcpServer(auth=None, tool_prefix="one") as one,
        RemoteMcpServer(auth=None, tool_prefix="two") as two,
        RemoteMcpServer(auth=None, tool_prefix="one") as clash,
    ):
        for name, server in (("one", one), ("two", two), ("clash", clash)):
            import_remote(gateway_user, tmp_path, name, server.url)
        assert gateway_user.docker("mcp", "server", "enable", "one").returncode == 0
        mcp_dir = os.path.join(gateway_user.home, ".docker", "mcp")
        log = tmp_path / "gateway.log"
        changes: list[str] = []

        async def on_message(message) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                changes.append("tools")

        async def names(session) -> list[str]:
            return sorted(t.name for t in (await session.list_tools()).tools)

        async def until_changed(session, count: int) -> list[str]:
            with anyio.fail_after(15):
                while len(changes) < count:
                    await anyio.sleep(0.1)
            return await names(session)

        async def body(session):
            assert await names(session) == ["one_add", "one_echo", "one_whoami"]
            assert gateway_user.docker("mcp", "server", "enable", "two").returncode == 0
            assert await until_changed(session, 1) == [
                "one_add", "one_echo", "one_whoami", "two_add", "two_echo", "two_whoami"
            ]  # fmt: skip
            with open(os.path.join(mcp_dir, "tools.yaml"), "w") as f:
                f.write("two: [two_add]\n")
            assert await until_changed(session, 2) == ["one_add", "one_echo", "one_whoami", "two_add"]
            call = await session.call_tool("two_add", {"a": 1, "b": 2})
            assert not call.is_error and call.content[0].text == "3"
            assert gateway_user.docker("mcp", "server", "disable", "one").returncode == 0
            assert await until_changed(session, 3) == ["two_add"]
            # a configuration that cannot be served (clash offers one_… tools too, and both are enabled)
            # is reported, and the current one kept
            assert gateway_user.docker("mcp", "server", "enable", "one", "clash").returncode == 0
            with anyio.fail_after(15):
                while "> Unable to list capabilities" not in log.read_text():
                    await anyio.sleep(0.1)
            assert await names(session) == ["two_add"]
            return len(changes)

        params = StdioServerParameters(command=DOCKER, args=["mcp", "gateway", "run"], env=gateway_user.env)
        with open(log, "w") as errlog:

            async def run():
                async with (
                    stdio_client(params, errlog=errlog) as (read, write),
                    ClientSession(read, write, message_handler=on_message) as session,
                ):
                    await session.initialize()
                    assert session.server_capabilities.tools.list_changed
                    return await body(session)

            assert anyio.run(run) == 3
        text = log.read_text()
        assert "- Watching for configuration updates..." in text
        assert text.count("> Configuration updated, reloading...") >= 4
        assert "is offered by both clash and one: disable one of them" in text


def test_log_calls_shows_each_calls_shape_never_its_values(gateway_user, tmp_path):
    with RemoteMcpServer(auth=None, tool_prefix="one") as one:
        import_remote(gateway_user, tmp_path, "one", one.url)

        async def run(extra: list[str], log_path) -> None:
            params = StdioServerParameters(
                command=DOCKER, args=["mcp", "gateway", "run", "--servers", "one", *extra], env=gateway_user.env
            )
            with open(log_path, "w") as errlog:
                async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as s:
                    await s.initialize()
                    assert not (await s.call_tool("one_echo", {"text": PLANTED})).is_error

        anyio.run(run, [], tmp_path / "on.log")
        on = (tmp_path / "on.log").read_text()
        assert "  - Calling tool one_echo with arguments: object with 1 field(s)" in on
        assert "  > Calling tool one_echo took: " in on
        assert PLANTED not in on and "text" not in on.split("Calling tool", 1)[1]

        anyio.run(run, ["--log-calls=false"], tmp_path / "off.log")
        assert "Calling tool" not in (tmp_path / "off.log").read_text()
