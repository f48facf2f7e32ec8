"""The documentation, checked against the built plugin through the real docker CLI: every runnable
example of docs/*.md is run, and every command table agrees with `docker mcp <group> --help`.

How the docs mark what is checked (write new docs the same way):

- Runnable example: a fenced ```console block on the line right after `<!-- runnable -->`. Each line
  `$ CMD` is a command, run with bash in the example's working directory, stderr merged into stdout.
  The lines after it, up to the next `$ `, are its expected output: compared line by line (trailing
  spaces ignored); `…` inside a line matches any text, and a line that is only `…` matches any number
  of lines. No output lines means no output. A command with a heredoc (`<<'EOF'`) takes the lines up to
  the terminator as part of the command. `CMD   # exit N` must exit with status N; every other command
  with 0. The commands of one block share one user; each block starts as a new one.
- `<!-- runnable: docker-engine -->`: the same, with DOCKER_HOST pointing at a real Docker engine in
  which the MCP project's time server (the tests' image mcp-time:test) is also tagged `mcp/time`.
- A fenced block on the line right after `<!-- file: NAME -->` is written as NAME into the working
  directory of every runnable example of the same doc (so an example can import a file the doc shows).
- A new user is: HOME and DOCKER_CONFIG=$HOME/.docker fresh, the plugin installed in
  $DOCKER_CONFIG/cli-plugins, and a password store ready for docker-credential-pass (GNUPGHOME,
  PASSWORD_STORE_DIR; the gpg key and `pass init` of docs/secrets.md are done). No config.json: an
  example that needs the credential store writes `{"credsStore": "pass"}` itself.
- Command tables: a table whose first header cell is `command` lists commands as `group sub ARGS
  [--flag]` in the first column; the second column starts with the command's line in `--help` (more
  may follow after " — "). A table whose first header cell is "flag of `group sub`" lists that
  command's flags the same way. Every command of `docker mcp --help` is in a command table, every
  flag of its `--help` in its row or its flag table, and nothing else is.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = Path(ROOT) / "docs"
FENCE = re.compile(r"^```")
MARKER = re.compile(r"^<!-- runnable(?:: (?P<needs>[a-z-]+))? -->$")
FILE_MARKER = re.compile(r"^<!-- file: (?P<name>[\w.-]+) -->$")
EXIT = re.compile(r"\s#\s*exit (\d+)\s*$")
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
ELLIPSIS = "…"


@dataclass
class Step:
    command: str
    expected: list[str]
    status: int


@dataclass
class Example:
    doc: str
    line: int
    needs: str  # "" or "docker-engine"
    steps: list[Step]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _blocks(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line number, the line before the fence, body lines) of every fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            start, before = i, lines[i - 1].strip() if i else ""
            i += 1
            body = []
            while i < len(lines) and not FENCE.match(lines[i]):
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, before, body))
        i += 1
    return blocks


def _steps(body: list[str]) -> list[Step]:
    steps: list[Step] = []
    i = 0
    while i < len(body):
        line = body[i]
        assert line.startswith("$ "), f"a runnable block must start with a command: {line!r}"
        command = line[2:]
        i += 1
        heredoc = HEREDOC.search(command)
        if heredoc:
            text = [command]
            while i < len(body) and body[i] != heredoc.group(1):
                text.append(body[i])
                i += 1
            text.append(body[i] if i < len(body) else heredoc.group(1))
            i += 1
            command = "\n".join(text)
        expected = []
        while i < len(body) and not body[i].startswith("$ "):
            expected.append(body[i])
            i += 1
        status = EXIT.search(command.splitlines()[0])
        steps.append(Step(command, expected, int(status.group(1)) if status else 0))
    return steps


def runnable_examples() -> list[Example]:
    found = []
    for path in sorted(DOCS.glob("*.md")):
        for line, before, body in _blocks(path):
            marker = MARKER.match(before)
            if marker:
                found.append(Example(path.name, line, marker.group("needs") or "", _steps(body)))
    return found


def doc_files(doc: str) -> dict[str, str]:
    return {
        m.group("name"): "\n".join(body) + "\n"
        for _, before, body in _blocks(DOCS / doc)
        if (m := FILE_MARKER.match(before))
    }


def output_pattern(expected: list[str]) -> re.Pattern[str]:
    parts = []
    for line in expected:
        if line.strip() == ELLIPSIS:
            parts.append(r"(?:[^\n]*\n)*")
        else:
            parts.append("[^\n]*".join(re.escape(p) for p in line.rstrip().split(ELLIPSIS)) + r"\n")
    return re.compile("".join(parts))


def normalized(output: str) -> str:
    lines = [line.rstrip() for line in output.splitlines()]
    return "".join(line + "\n" for line in lines)


EXAMPLES = runnable_examples()


def test_the_docs_have_runnable_examples():
    docs = {e.doc for e in EXAMPLES}
    assert {"catalog.md", "secrets.md", "gateway.md", "oauth.md", "slack.md"} <= docs, docs


@pytest.fixture
def engine_env(request):
    """DOCKER_HOST of the tests' Docker engine, with the time server's image also named mcp/time."""
    from tests.helpers.mcp_images import ensure_time_image

    engine = request.getfixturevalue("docker_engine")
    image = ensure_time_image(engine)
    engine.docker("tag", image, "mcp/time")
    return engine.env({})


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_runnable_example(example: Example, plugin, pass_env, tmp_path, request):
    env = {**plugin.env, **pass_env}
    if example.needs == "docker-engine":
        env["DOCKER_HOST"] = request.getfixturevalue("engine_env")["DOCKER_HOST"]
    elif example.needs:
        pytest.fail(f"{example.id}: unknown requirement {example.needs!r}")
    work = tmp_path / "work"
    work.mkdir()
    for name, text in doc_files(example.doc).items():
        (work / name).write_text(text)
    for step in example.steps:
        r = subprocess.run(
            ["bash", "-c", step.command],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=180,
        )
        where = f"{example.id}: $ {step.command}\n--- output:\n{r.stdout}"
        assert r.returncode == step.status, f"exit status {r.returncode}, the doc says {step.status}\n{where}"
        assert output_pattern(step.expected).fullmatch(normalized(r.stdout)), (
            "the output differs from the doc's\n--- doc:\n" + "\n".join(step.expected) + f"\n{where}"
        )


# --- the command tables against --help ---

ROW = re.compile(r"^\|(.+)\|\s*$")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b")


@dataclass
class Documented:
    where: str
    text: str  # the one-line description
    flags: set[str]


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def _one_liner(cell: str) -> str:
    return cell.replace("`", "").split(" — ")[0].strip()


def documented_tables() -> tuple[dict[str, list[Documented]], dict[str, dict[str, list[Documented]]]]:
    """Command rows by `group sub`, and flag rows by `group sub` then flag."""
    commands: dict[str, list[Documented]] = {}
    flags: dict[str, dict[str, list[Documented]]] = {}
    for path in sorted(DOCS.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if not (ROW.match(line) and n + 1 < len(lines) and re.match(r"^\|[-|: ]+\|\s*$", lines[n + 1])):
                continue
            header = _cells(line)[0]
            flag_of = re.fullmatch(r"flag of `(?:docker mcp )?([a-z -]+)`", header)
            if header != "command" and not flag_of:
                continue
            for k in range(n + 2, len(lines)):
                if not ROW.match(lines[k]):
                    break
                first, second = _cells(lines[k])[:2]
                where = f"{path.name}:{k + 1}"
                code = first.replace("`", "").removeprefix("docker mcp ")
                if flag_of:
                    for flag in FLAG.findall(code):
                        flags.setdefault(flag_of.group(1), {}).setdefault(flag, []).append(
                            Documented(where, _one_liner(second), set())
                        )
                    continue
                words = code.split()
                key = " ".join(words[:2]) if len(words) > 1 and re.fullmatch(r"[a-z-]+", words[1]) else words[0]
                commands.setdefault(key, []).append(Documented(where, _one_liner(second), set(FLAG.findall(code))))
    return commands, flags


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    if title not in lines:
        return []
    out = []
    for line in lines[lines.index(title) + 1 :]:
        if not line.strip():
            break
        out.append(line)
    return out


def help_commands(text: str) -> dict[str, str]:
    return dict(m.groups() for line in _section(text, "Commands:") if (m := re.match(r"^  (\S+)\s+(.*)$", line)))


def help_flags(text: str) -> dict[str, str]:
    """`--flag: text` of the Options section; a text wrapped onto further lines (pflag's layout) is joined."""
    flags: dict[str, str] = {}
    flag = None
    for line in _section(text, "Options:"):
        m = re.match(r"^  (?:-\w, |    )(--[\w-]+)(?: [a-zA-Z]+)?\s{2,}(.*)$", line)
        if m:
            flag = m.group(1)
            flags[flag] = m.group(2)
        else:
            assert flag and line.startswith(" " * 8), f"unexpected flag line {line!r}"
            flags[flag] += " " + line.strip()
    return flags


def _help_variants(text: str) -> set[str]:
    """The flag's help line, also without the default and the choices the renderer appends."""
    without_default = re.sub(r" \(default [^)]*\)$", "", text)
    return {text, without_default, re.sub(r" \([^()\s]*\|[^()]*\)$", "", without_default)}


def test_every_command_and_flag_of_the_help_is_in_the_docs_as_the_help_says_it(plugin):
    def help_of(*path: str) -> str:
        r = plugin.docker("mcp", *path, "--help")
        assert r.returncode == 0, r.stderr
        return r.stdout

    commands, flag_tables = documented_tables()
    problems = []
    leaves: dict[str, str] = {}
    for name, short in help_commands(help_of()).items():
        text = help_of(name)
        subs = help_commands(text)
        if not subs:
            leaves[name] = short
            docs_flags = {name: help_flags(text)}
        else:
            docs_flags = {}
            for sub, sub_short in subs.items():
                leaves[f"{name} {sub}"] = sub_short
                docs_flags[f"{name} {sub}"] = help_flags(help_of(name, sub))
        for key, in_help in docs_flags.items():
            rows = commands.get(key, [])
            if not rows:
                problems.append(f"`docker mcp {key}` is in --help but in no command table of docs/")
                continue
            for row in rows:
                if row.text != leaves[key]:
                    problems.append(f"{row.where}: `{key}` is described as {row.text!r}; --help says {leaves[key]!r}")
                for flag in row.flags - set(in_help) - {"-h", "--help"}:
                    problems.append(f"{row.where}: `{key}` has no flag {flag} in --help")
            table = flag_tables.get(key, {})
            for flag, help_text in in_help.items():
                if flag == "--help":
                    continue
                if flag in table:
                    for row in table[flag]:
                        if row.text not in _help_variants(help_text):
                            problems.append(
                                f"{row.where}: {key} {flag} is described as {row.text!r}; --help says {help_text!r}"
                            )
                elif not any(flag in row.flags for row in rows):
                    problems.append(f"`docker mcp {key}` {flag} is in --help but not in the docs")
            for flag in set(table) - set(in_help):
                problems.append(f"{table[flag][0].where}: `{key}` has no flag {flag} in --help")
    for key in set(commands) - set(leaves):
        problems.append(f"{commands[key][0].where}: `docker mcp {key}` is not a command of --help")
    for key in set(flag_tables) - set(leaves):
        problems.append(f"flag table of `{key}`: not a command of --help")
    assert not problems, "\n".join(sorted(problems))


def test_the_example_conventions_parse():
    """The parser itself, on a block with output, a wildcard, a heredoc and an exit status."""
    steps = _steps(
        [
            "$ cat > a.yaml <<'EOF'",
            "name: a",
            "EOF",
            "$ docker mcp catalog import ./a.yaml",
            'Imported server "a" into catalog "a"',
            "$ docker mcp catalog show nope   # exit 1",
            "…",
        ]
    )
    assert [s.status for s in steps] == [0, 0, 1]
    assert steps[0].command == "cat > a.yaml <<'EOF'\nname: a\nEOF" and steps[0].expected == []
    assert output_pattern(steps[1].expected).fullmatch('Imported server "a" into catalog "a"\n')
    assert output_pattern(["> a: 2 tools: …"]).fullmatch("> a: 2 tools: x, y\n")
    assert output_pattern(["first", "…", "last"]).fullmatch("first\nmiddle\nmore\nlast\n")
    assert not output_pattern([]).fullmatch("unexpected\n")
    assert os.path.isdir(DOCS)
