"""Shared pieces of the MCP conformance suite tests (test_conformance_server.py, test_conformance_client.py):
where the suite and node 22 are (scripts/ensure-conformance installs them), the suite's verdict on a
scenario's checks, the table `pytest -s` prints, and how a run disagrees with an expected-failures file."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.conftest import ROOT

SUITE_DIR = Path(ROOT) / "tests" / "conformance"
NODE_BIN = Path(ROOT) / ".conformance" / "node" / "node_modules" / ".bin"
# The suite's rule (its expected-failures check): a scenario fails when any of its checks is one of these.
FAILING = ("FAILURE", "WARNING")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# The suite's own command, as npm ci installed it: `npx --no conformance` finds the same file, after a
# second and a half of npm's own start (measured: `conformance list` 2.3 s through npx, 0.9 s direct)
CONFORMANCE = str(SUITE_DIR / "node_modules" / ".bin" / "conformance")


def suite_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's) with node 22 first on PATH, for the suite (CONFORMANCE)."""
    env = dict(os.environ if env is None else env)
    return {**env, "PATH": f"{NODE_BIN}{os.pathsep}{env['PATH']}", "NPM_CONFIG_UPDATE_NOTIFIER": "false"}


@dataclass
class SuiteRun:
    returncode: int
    output: str  # stdout and stderr, colours removed
    failures: dict[str, list[str]] = field(default_factory=dict)  # scenario -> why, for every scenario run
    checks: dict[str, tuple[int, int]] = field(default_factory=dict)  # scenario -> (passed, failed) checks

    def add(self, scenario: str, checks_json: Path) -> None:
        """A scenario's verdict from the checks.json the suite wrote for it."""
        checks: list[dict[str, Any]] = json.loads(checks_json.read_text())
        bad = [c for c in checks if c["status"] in FAILING]
        self.failures[scenario] = [
            f"{c['id']}: {c.get('errorMessage') or c.get('description') or c['status']}" for c in bad
        ]
        self.checks[scenario] = (sum(c["status"] == "SUCCESS" for c in checks), len(bad))

    def table(self, title: str) -> str:
        passed, failed = (sum(counts[i] for counts in self.checks.values()) for i in (0, 1))
        scenarios = f"{sum(not why for why in self.failures.values())} of {len(self.failures)} scenarios pass"
        rows = [f"{title}: {scenarios} ({passed} checks passed, {failed} failed)"]
        width = max((len(s) for s in self.failures), default=0)
        for scenario, why in self.failures.items():
            ok, bad = self.checks[scenario]
            verdict = "FAIL" if why else "pass"
            rows.append(f"  {verdict}  {scenario:{width}} {ok:2} passed, {bad:2} failed  {'; '.join(why)}".rstrip())
        return "\n".join(rows)


def baseline_problems(run: SuiteRun, baseline: Path, where: str, side: str, expected: int) -> list[str]:
    """What makes the run disagree with the baseline (its `side:` list, "server" or "client"), one line
    each, saying what to do; `expected` is how many scenarios the suite should have run."""
    listed = YAML(typ="safe").load(baseline.read_text()).get(side) or []
    name = baseline.relative_to(ROOT)
    problems = [f"{s} is listed in {name} but the suite ran no such scenario" for s in listed if s not in run.failures]
    for scenario, why in run.failures.items():
        if scenario in listed and not why:
            problems.append(f"{scenario} now passes {where}: remove its stale entry from {name}")
        if scenario not in listed and why:
            problems.append(f"{scenario} fails {where} (a regression, not in {name}): {'; '.join(why)}")
    if len(run.failures) != expected:
        problems.append(f"the suite ran {len(run.failures)} scenarios, not {expected}")
    if run.returncode != 0 and not problems:
        problems.append(f"the suite exited {run.returncode}:\n{run.output[-3000:]}")
    return problems
