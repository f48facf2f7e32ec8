"""The gateway's stop requests (front.Shutdown) and the stdin reader for terminals and files
(front._ThreadLines); tests/e2e/test_gateway_lifecycle.py runs them for real, with signals."""

from __future__ import annotations

import asyncio
import os

import anyio
import pytest

from docker_mcp.gateway.front import STOP_GRACE, Shutdown, _ThreadLines


def test_a_request_before_a_front_serves_cancels_the_start():
    async def main():
        cancelled = []
        stop = Shutdown(lambda: cancelled.append(True))
        stop.request("SIGTERM received")
        return cancelled, stop.exit_code

    assert anyio.run(main) == ([True], 0)


def test_sigterm_gives_the_grace_a_second_request_none_and_the_first_cause_sets_the_exit_code():
    async def main():
        graces: list[float] = []
        stop = Shutdown(lambda: None)
        stop.front = graces.append
        stop.request("interrupted", graceful=False, exit_code=130)
        stop.request("SIGTERM received")
        return graces, stop.exit_code

    assert anyio.run(main) == ([0.0, 0.0], 130)

    async def graceful():
        graces: list[float] = []
        stop = Shutdown(lambda: None)
        stop.front = graces.append
        stop.request("SIGTERM received")
        stop.request("SIGTERM received")
        return graces

    assert anyio.run(graceful) == [STOP_GRACE, 0.0]


@pytest.mark.parametrize("chunks", [[b'{"a": 1}\n{"b"', b": 2}\nlast"], [b"", b""], [b"x\n"]])
def test_stdin_lines_read_by_a_thread_end_with_the_input(chunks):
    async def main():
        read_end, write_end = os.pipe()
        lines = _ThreadLines(read_end, asyncio.get_running_loop())
        for chunk in chunks:
            os.write(write_end, chunk)
            await anyio.sleep(0.01)
        os.close(write_end)
        got = [line async for line in lines]
        with pytest.raises(StopAsyncIteration):
            await lines.__anext__()  # and stays ended
        os.close(read_end)
        return got

    expected = b"".join(chunks).decode().splitlines(keepends=True)
    assert anyio.run(main) == expected


def test_log_lines_are_written_by_the_log_thread_in_order_in_batches_and_all_at_once_when_serving_ends(monkeypatch):
    import logging
    import threading

    from docker_mcp.gateway import run

    written: list[tuple[str, str]] = []  # (line, the thread that wrote it)

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            written.append((record.getMessage(), threading.current_thread().name))

    logger = logging.getLogger("docker_mcp.gateway")
    monkeypatch.setattr(logger, "handlers", [Recorder()])
    monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setattr(logger, "level", logging.INFO)
    logging.getLogger().manager._clear_cache()  # another test's level may be cached
    monkeypatch.setattr(run, "LOG_BATCH_SECONDS", 600)  # the end of serving writes at once
    with run._logging_off_the_loop():
        for i in range(200):
            logger.info("line %d of %s", i, "a burst")
        assert written == []  # the thread gathers the burst before it writes
    assert [line for line, _ in written] == [f"line {i} of a burst" for i in range(200)]
    assert {thread for _, thread in written} == {"docker-mcp-log"}
    assert isinstance(logger.handlers[0], Recorder)  # the handlers are back
    monkeypatch.undo()
    logging.getLogger().manager._clear_cache()


def test_the_exit_with_no_engine_to_ask_removes_nothing_and_warns_nothing(monkeypatch, tmp_path, caplog):
    """A gateway that ran container servers removes its leftovers at exit; with no engine answering
    (here DOCKER_HOST names a socket nobody listens on, as docker-py meets a stopped engine) that is a
    debug line, not a warning: docker-py's client cannot be made (containers.NoEngine)."""
    import logging

    from docker_mcp.gateway.containers import NoEngine, remove_containers
    from docker_mcp.gateway.run import _remove_leftovers

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    with pytest.raises(NoEngine):
        remove_containers("g1")
    with caplog.at_level(logging.DEBUG, logger="docker_mcp.gateway"):
        _remove_leftovers("g1")
    assert [r.levelno for r in caplog.records] == [logging.DEBUG], caplog.text
    assert "no Docker engine answered" in caplog.text
