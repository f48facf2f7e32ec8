"""The MCP conformance suite's client scenarios (@modelcontextprotocol/conformance `client`) against
`docker mcp` driven as its users drive it: tests/conformance/client_adapter.py, through the real docker CLI
and the built plugin. Every client scenario `conformance list` names is checked at the suite's default
wire against tests/conformance/client-expected-failures.yml, and those applicable at 2025-11-25 also at
`--spec-version 2025-11-25` against client-expected-failures-2025-11-25.yml: a listed scenario that passes
is a stale entry to remove, an unlisted failure a regression; the test says which and why from the suite's
per-check results. Each scenario is one suite invocation (the `invocations` fixture says why one serves
both wires) with a fresh user (HOME, DOCKER_CONFIG with credsStore pass and its own password store), two at
a time. `pytest -s` prints each wire's table.
scripts/ensure-conformance installs the suite and node 22 for it."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import password_store
from tests.e2e.conformance_suite import ANSI, CONFORMANCE, SUITE_DIR, SuiteRun, baseline_problems, suite_env
from tests.e2e.conftest import new_user

ADAPTER = SUITE_DIR / "client_adapter.py"
DATED = "2025-11-25"
BASELINES = {
    "default": SUITE_DIR / "client-expected-failures.yml",
    DATED: SUITE_DIR / f"client-expected-failures-{DATED}.yml",
}
LISTED = re.compile(r"^\s+- (?P<scenario>\S+) \[(?P<versions>[^\]]*)\]$")  # `conformance list`: "  - NAME [v1,v2]"
SIDE_BY_SIDE = 2  # the machine's cores: a scenario is mostly the plugin's CPU time


@dataclass
class Invocation:
    wire: str  # a key of BASELINES: the --spec-version given (none for "default") and the baseline passed
    checks: Path | None  # the checks.json the suite wrote, None when it wrote none
    output: str | None  # the suite's output when it exited non-zero


@pytest.fixture(scope="module")
def client_scenarios() -> dict[str, list[str]]:
    """Each client scenario of `conformance list`, with the spec versions it applies at."""
    if not (SUITE_DIR / "node_modules").exists():
        pytest.fail(f"the suite is not installed ({SUITE_DIR / 'node_modules'}): run scripts/ensure-conformance")
    argv = [CONFORMANCE, "list"]
    r = subprocess.run(argv, cwd=SUITE_DIR, env=suite_env(), capture_output=True, text=True, timeout=60, check=True)
    section = r.stdout.split("Client scenarios")[1].split("\n\n")[0]
    return {m["scenario"]: m["versions"].split(",") for m in map(LISTED.match, section.splitlines()) if m}


def invoke(scenario: str, wire: str, where: Path, env: dict[str, str]) -> Invocation:
    """`conformance client` for one scenario, with the adapter as the client and results under where/results."""
    argv = [
        CONFORMANCE, "client", "--command", f"{sys.executable} {ADAPTER}", "--scenario", scenario,
        "--expected-failures", str(BASELINES[wire]), "-o", str(where / "results"),
        *(["--spec-version", wire] if wire != "default" else []),
    ]  # fmt: skip
    r = subprocess.run(argv, cwd=SUITE_DIR, env=suite_env(env), capture_output=True, text=True, timeout=180)
    checks = sorted((where / "results").glob("**/checks.json"))
    return Invocation(wire, checks[0] if checks else None, ANSI.sub("", r.stdout + r.stderr) if r.returncode else None)


@pytest.fixture(scope="module")
def invocations(client_scenarios, installed_config, shiv_root, gnupg_home, tmp_path_factory) -> dict[str, Invocation]:
    """Every client scenario once: with --spec-version 2025-11-25 where it applies, else at the default wire.
    The suite's default wire for a scenario is 2025-11-25 unless 2026-07-28 introduced it (`Mc` in its
    dist/index.js), so a scenario applicable at 2025-11-25 runs the same at both, and one run serves both
    baselines: a second would repeat it message for message (and the test would take a third longer)."""
    tmp = tmp_path_factory.mktemp("conformance-client")

    def one(scenario: str) -> Invocation:
        where = tmp / scenario.replace("/", "-")
        user = new_user(installed_config, shiv_root, where / "home", link=True)
        (Path(user.config_dir) / "config.json").write_text('{"credsStore": "pass"}')
        user.env.update(password_store(gnupg_home, str(where / "password-store")))
        user.env["DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS"] = "1"  # the suite's servers are plain-http loopback
        # As on a user's machine, Python keeps the plugin's bytecode under SHIV_ROOT; this machine's
        # PYTHONDONTWRITEBYTECODE=1 would make every command compile it again (a second of CPU each).
        user.env.pop("PYTHONDONTWRITEBYTECODE", None)
        return invoke(scenario, DATED if DATED in client_scenarios[scenario] else "default", where, user.env)

    with ThreadPoolExecutor(SIDE_BY_SIDE) as pool:
        return dict(zip(client_scenarios, pool.map(one, client_scenarios), strict=True))


@pytest.mark.parametrize("wire", BASELINES)
def test_exactly_the_listed_client_scenarios_fail(wire, client_scenarios, invocations):
    scenarios = [s for s, versions in client_scenarios.items() if wire == "default" or wire in versions]
    run, unrun = SuiteRun(0, ""), []
    for scenario in scenarios:
        invocation = invocations[scenario]
        if invocation.checks is None:
            unrun.append(f"{scenario}: the suite wrote no checks.json:\n{(invocation.output or '')[-2000:]}")
        else:
            run.add(scenario, invocation.checks)
        if invocation.output is not None and invocation.wire == wire:  # its exit status judged this baseline
            run.returncode, run.output = 1, f"{run.output}\n--- {scenario}\n{invocation.output[-2000:]}"
    where = "at the suite's default wire" if wire == "default" else f"at --spec-version {wire}"
    table = run.table(f"client scenarios {where}")
    print("\n" + table)
    problems = [*unrun, *baseline_problems(run, BASELINES[wire], where, "client", len(scenarios))]
    assert not problems, "\n".join([*problems, table])
