"""The router's own decisions, on stand-ins for the SDK's per-request context and connection (the e2e
tests drive the real ones: tests/e2e/test_conformance_server.py, test_gateway_passthrough.py): pages of
an aggregated list, which client request a server's request goes to, and which client sessions get a
resources/updated."""

from __future__ import annotations

import anyio
import mcp_types as types
import pytest
from mcp.shared.exceptions import MCPError

from docker_mcp.gateway.router import PAGE_SIZE, Peer, _page


class Outbound:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    async def send_raw_request(self, method, params, opts=None):
        self.sent.append((method, params))
        return {"answered": method}

    async def notify(self, method, params, opts=None):
        self.sent.append((method, params))


class Connection:
    def __init__(self, capabilities: types.ClientCapabilities | None) -> None:
        self.client_capabilities = capabilities
        self.outbound = Outbound()
        self.state: dict = {}
        self.protocol_version = "2025-11-25"


class Session:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._request_outbound = Outbound()
        self.can_send_request = True


class Ctx:
    def __init__(self, connection: Connection) -> None:
        self.session = Session(connection)
        self.protocol_version = "2025-11-25"
        self.meta = None


SAMPLING = types.ClientCapabilities(sampling=types.SamplingCapability())
FORM_ONLY = types.ClientCapabilities(elicitation=types.ElicitationCapability(form=types.FormElicitationCapability()))


def test_an_aggregated_list_comes_in_pages_and_a_foreign_cursor_is_refused():
    items = [{"name": f"t{i}"} for i in range(PAGE_SIZE * 2 + 3)]
    seen, params = [], {}
    while True:
        page = _page("tools", items, params)
        seen += page["tools"]
        if "nextCursor" not in page:
            break
        params = {"cursor": page["nextCursor"]}
    assert seen == items
    assert _page("tools", items[:3], {}) == {"tools": items[:3]}
    for bad in ("not-a-cursor", "b2Zmc2V0Ojk5OTk5", 7):
        with pytest.raises(MCPError) as e:
            _page("tools", items, {"cursor": bad})
        assert e.value.code == types.INVALID_PARAMS


def test_a_servers_request_goes_to_the_newest_request_in_flight_whose_client_can_take_it():
    # a connection of one client session (stdio, or an HTTP session's own container): its calls in flight
    connection = Connection(SAMPLING)
    older, newer = Ctx(connection), Ctx(connection)
    peer = Peer("s", home=connection)
    peer.enter(older)
    peer.enter(newer)
    result = anyio.run(peer.request, "sampling/createMessage", {"messages": []})
    assert result == {"answered": "sampling/createMessage"}
    assert newer.session._request_outbound.sent == [("sampling/createMessage", {"messages": []})]
    assert older.session._request_outbound.sent == []

    unable = Peer("s", home=Connection(types.ClientCapabilities()))
    unable.enter(Ctx(unable.home))
    with pytest.raises(MCPError) as e:
        anyio.run(unable.request, "sampling/createMessage", {"messages": []})
    assert e.value.code == types.INVALID_REQUEST


def test_on_a_connection_sessions_share_a_servers_request_goes_nowhere_while_several_are_in_flight():
    first, second = Ctx(Connection(SAMPLING)), Ctx(Connection(SAMPLING))
    shared = Peer("remote")  # no home: every client session's calls use it
    shared.enter(first)
    assert anyio.run(shared.request, "sampling/createMessage", {"messages": []})
    shared.enter(second)
    with pytest.raises(MCPError) as e:
        anyio.run(shared.request, "sampling/createMessage", {"messages": []})
    assert e.value.code == types.INVALID_REQUEST
    anyio.run(shared.notify, "notifications/message", {"level": "info", "data": "whose?"})
    assert [m for m, _ in first.session._request_outbound.sent] == ["sampling/createMessage"]
    assert second.session._request_outbound.sent == []


def test_url_elicitation_needs_the_url_mode_and_roots_may_go_to_the_session():
    form = Ctx(Connection(FORM_ONLY))
    peer = Peer("s")
    peer.enter(form)
    assert anyio.run(peer.request, "elicitation/create", {"mode": "form", "message": "?"})
    with pytest.raises(MCPError):
        anyio.run(peer.request, "elicitation/create", {"mode": "url", "message": "?", "url": "https://x"})
    home = Connection(types.ClientCapabilities(roots=types.RootsCapability()))
    idle = Peer("s", home=home)
    assert anyio.run(idle.request, "roots/list", None) == {"answered": "roots/list"}
    with pytest.raises(MCPError) as e:
        anyio.run(idle.request, "tools/list", None)
    assert e.value.code == types.METHOD_NOT_FOUND


def test_resources_updated_goes_to_the_sessions_subscribed_and_logs_to_the_request_in_flight():
    one, two, three = (Connection(None) for _ in range(3))
    peer = Peer("s")
    peer.subscribe("file:///a", one, True)
    peer.subscribe("file:///a", two, True)
    peer.subscribe("file:///a", two, False)
    anyio.run(peer.notify, "notifications/resources/updated", {"uri": "file:///a"})
    assert one.outbound.sent == [("notifications/resources/updated", {"uri": "file:///a"})]
    assert two.outbound.sent == three.outbound.sent == []

    ctx = Ctx(three)
    peer.enter(ctx)  # a shared connection (no home): a log message names no session, so none gets it
    anyio.run(peer.notify, "notifications/message", {"level": "info", "data": "x"})
    assert ctx.session._request_outbound.sent == []
    own = Peer("s", home=three)  # a session's own connection: to its call in flight
    own.enter(ctx)
    anyio.run(own.notify, "notifications/message", {"level": "info", "data": "x"})
    assert ctx.session._request_outbound.sent == [("notifications/message", {"level": "info", "data": "x"})]


class Dispatcher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict | None]] = []

    async def send_raw_request(self, method, params, opts):
        self.sent.append((method, params))
        return {"content": []}


class BackendSession:
    def __init__(self, version: str) -> None:
        self.protocol_version = version
        self._dispatcher = Dispatcher()

    def _stamp(self, data, opts) -> None:
        if self.protocol_version == "2026-07-28":
            data["params"].setdefault("_meta", {})["io.modelcontextprotocol/protocolVersion"] = "2026-07-28"


ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"},
    "io.modelcontextprotocol/logLevel": "error",
    "progressToken": 7,
    "vendor/trace": "t-1",
}


@pytest.mark.parametrize("version", ["2025-11-25", "2026-07-28"])
def test_a_clients_2026_envelope_is_not_passed_on_but_its_own_meta_is(version):
    from docker_mcp.gateway.backends import raw_request

    session = BackendSession(version)
    ctx = Ctx(Connection(None))
    anyio.run(raw_request, session, "tools/call", {"name": "t", "_meta": dict(ENVELOPE)}, ctx, Peer("s"))
    (_, sent), *_ = session._dispatcher.sent
    meta = sent["_meta"]
    assert meta["vendor/trace"] == "t-1" and "progressToken" not in meta
    assert "io.modelcontextprotocol/clientInfo" not in meta
    if version == "2026-07-28":  # the server's own envelope, and the client's log opt-in
        assert meta["io.modelcontextprotocol/logLevel"] == "error"
        assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    else:
        assert not any(k.startswith("io.modelcontextprotocol/") for k in meta)


def test_a_2026_client_gets_only_the_log_levels_it_opted_in_to():
    ctx = Ctx(Connection(None))
    own = Peer("s", home=ctx.session._connection)
    own.enter(ctx)
    ctx.protocol_version = "2026-07-28"
    anyio.run(own.notify, "notifications/message", {"level": "info", "data": "no opt-in"})
    ctx.meta = {"io.modelcontextprotocol/logLevel": "warning"}
    anyio.run(own.notify, "notifications/message", {"level": "info", "data": "below"})
    anyio.run(own.notify, "notifications/message", {"level": "error", "data": "above"})
    assert ctx.session._request_outbound.sent == [("notifications/message", {"level": "error", "data": "above"})]


def test_requests_are_checked_at_the_clients_protocol_version():
    from docker_mcp.gateway.router import _check_request

    _check_request("tools/call", "2025-11-25", {"name": "t", "arguments": {}})
    with pytest.raises(MCPError) as e:
        _check_request("logging/setLevel", "2026-07-28", {"level": "info"})  # gone at 2026-07-28
    assert e.value.code == types.METHOD_NOT_FOUND
    with pytest.raises(MCPError) as e:
        _check_request("tools/call", "2025-11-25", {"name": "t", "_meta": "x"})
    assert e.value.code == types.INVALID_PARAMS


def test_an_http_error_never_shows_the_urls_query():
    import httpx2

    from docker_mcp.gateway.backends import HttpStatus

    status = HttpStatus()
    request = httpx2.Request("POST", "http://127.0.0.1:9/mcp?api_key=sk-live-ABCDEFGHIJ&tenant=1")
    anyio.run(status.hook, httpx2.Response(502, request=request))
    assert status.failure == "HTTP 502 from http://127.0.0.1:9/mcp"
