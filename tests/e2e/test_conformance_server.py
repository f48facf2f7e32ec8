"""The MCP conformance suite (@modelcontextprotocol/conformance, its 31 default server scenarios) against
the MCP SDK's everything-server, the suite's reference server: directly, where it passes every scenario,
and through `docker mcp gateway run --transport streaming`, where it fails exactly the scenarios
tests/conformance/server-expected-failures-gateway.yml lists. The suite's own `--expected-failures`
decides (a listed scenario that passes is a stale entry to remove, an unlisted failure a regression);
the test says which and why from the suite's per-check results. `pytest -s` prints each run's table.
scripts/ensure-conformance installs the suite, node 22 for it, and the everything-server."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conformance_suite import ANSI, CONFORMANCE, SUITE_DIR, SuiteRun, baseline_problems, suite_env
from tests.e2e.oauth_support import free_port
from tests.e2e.test_gateway_http import start_gateway, stop
from tests.e2e.test_gateway_remote import import_remote

EVERYTHING_SERVER = Path(ROOT) / ".conformance" / "everything-server-2.3.0" / "bin" / "mcp-everything-server"
DEFAULT_SCENARIOS = 31  # what `conformance server` runs by default at the pinned 0.2.0-alpha.12
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$")


def run_suite(url: str, baseline: Path, out: Path) -> SuiteRun:
    """`conformance server` with its default scenarios, the baseline as --expected-failures, and each
    scenario's checks.json under `out` (the suite's own servers listen on ports the kernel picks)."""
    argv = [CONFORMANCE, "server", "--url", url, "--expected-failures", str(baseline), "-o", str(out)]
    r = subprocess.run(argv, cwd=SUITE_DIR, env=suite_env(), capture_output=True, text=True, timeout=300)
    run = SuiteRun(r.returncode, ANSI.sub("", r.stdout + r.stderr))
    for result in sorted(out.iterdir(), key=lambda p: p.stat().st_mtime):
        named = RESULT_DIR.match(result.name)
        assert named, f"the suite wrote {result.name}, not server-<scenario>-<time>:\n{run.output[-3000:]}"
        run.add(named["scenario"], result / "checks.json")
    return run


@pytest.fixture(scope="module")
def everything_server(tmp_path_factory):
    """mcp-everything-server on a port the kernel picks (--port 0; uvicorn logs the one it got)."""
    for path, what in ((EVERYTHING_SERVER, "the everything-server"), (SUITE_DIR / "node_modules", "the suite")):
        if not path.exists():
            pytest.fail(f"{what} is not installed ({path}): run scripts/ensure-conformance")
    log = tmp_path_factory.mktemp("everything-server") / "server.log"
    with open(log, "w") as sink:
        process = subprocess.Popen([EVERYTHING_SERVER, "--port", "0"], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while not (started := re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log.read_text())):
            if process.poll() is not None or time.time() > deadline:
                pytest.fail(f"the everything-server did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield f"{started[1]}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_everything_server_alone_passes_every_scenario_but_the_listed_ones(everything_server, tmp_path):
    baseline = SUITE_DIR / "server-expected-failures-direct.yml"
    run = run_suite(everything_server, baseline, tmp_path / "results")
    print("\n" + run.table("directly"))
    problems = baseline_problems(run, baseline, "directly", "server", DEFAULT_SCENARIOS)
    assert not problems, "\n".join([*problems, run.table("directly")])


def test_through_the_gateway_exactly_the_listed_scenarios_fail(gateway_user, everything_server, tmp_path):
    # What a user does: the server as a remote catalog entry, enabled, and the gateway over streamable HTTP
    # without a bearer token (the suite cannot send an Authorization header).
    import_remote(gateway_user, tmp_path, "everything", everything_server)
    r = gateway_user.docker("mcp", "server", "enable", "everything")
    assert r.returncode == 0, r.stderr
    for attempt in range(3):  # another process may take the free port before the gateway binds it
        port = free_port()
        try:
            gateway = start_gateway(gateway_user, "streaming", port, "--allow-unauthenticated", token=None)
            break
        except AssertionError as e:
            if "address already in use" not in str(e) or attempt == 2:
                raise
    baseline = SUITE_DIR / "server-expected-failures-gateway.yml"
    try:
        run = run_suite(f"http://127.0.0.1:{port}/mcp", baseline, tmp_path / "results")
        assert gateway.poll() is None, "the gateway exited during the run: the suite spoke to another server"
    finally:
        err = stop(gateway)
    print("\n" + run.table("through the gateway"))
    problems = baseline_problems(run, baseline, "through the gateway", "server", DEFAULT_SCENARIOS)
    assert not problems, "\n".join([*problems, run.table("through the gateway"), "gateway stderr:", err[-3000:]])
