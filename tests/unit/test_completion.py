"""The candidates of `docker mcp __complete …` (cobra's protocol), computed from real catalog files."""

from __future__ import annotations

import json

import pytest

from docker_mcp import completion
from docker_mcp.argv import GlobalOptions
from docker_mcp.catalog import importer, registry
from docker_mcp.catalog.store import McpDir
from docker_mcp.commands import ROOT
from docker_mcp.commands.help import HELP
from docker_mcp.commands.spec import Command, Group
from docker_mcp.completion import DEFAULT, NO_FILE_COMP, NO_SPACE, Answer, Names, complete, render

TEAM = """\
name: team
displayName: Team servers
registry:
  time:
    type: server
    image: mcp-time:test
    description: "Current time\\nand time zones"
    tools:
      - name: get_current_time
        description: The time now
      - name: convert_time
  notes:
    type: server
    image: notes:1
    description: Notes
    prefix: nb
    secrets:
      - name: notes.token
        env: NOTES_TOKEN
    tools:
      - name: add_note
  wiki:
    type: remote
    remote: {url: "https://wiki.example.com/mcp"}
    description: Team wiki
    oauth:
      providers:
        - {provider: wiki, secret: wiki.token, env: WIKI_TOKEN}
"""


class ListedStore:
    """A credential store holding entries in memory (key -> (username, secret))."""

    description = "memory"

    def __init__(self, entries: dict[str, tuple[str, str]]) -> None:
        self.entries = entries

    def list(self, prefix: str = "", suffix: str = "") -> dict[str, str]:
        return {k: u for k, (u, _) in self.entries.items() if k.startswith(prefix) and k.endswith(suffix)}


SECRETS = ListedStore(
    {
        "https://notes.token.mcp-secret": ("mcp_secret", "s3cret-value"),
        "https://wiki.token.mcp-secret": ("mcp_secret", "other-value"),
        "https://example.com": ("alice", "not-a-named-secret"),
    }
)


@pytest.fixture
def mcp(tmp_path) -> McpDir:
    mcp = McpDir(str(tmp_path / "home" / ".docker" / "mcp"))
    team = tmp_path / "team.yaml"
    team.write_text(TEAM)
    importer.import_catalog(mcp, str(team))
    registry.enable(mcp, ["time"])
    return mcp


@pytest.fixture
def names(mcp, tmp_path) -> Names:
    config = tmp_path / "docker-config"
    config.mkdir()
    return Names(lambda: mcp, str(config), lambda: SECRETS)


def values(answer: Answer) -> list[str]:
    return [v for v, _ in answer.candidates]


def test_an_empty_word_after_mcp_lists_the_groups_with_their_short_help(names):
    answer = complete([""], names)
    assert values(answer) == [c.name for c in ROOT.commands]
    assert ("server", "Enable, disable and inspect the servers of the configured catalogs") in answer.candidates
    assert answer.directive == NO_FILE_COMP


def test_a_prefix_completes_one_command_and_an_alias_only_when_it_alone_matches(names):
    assert values(complete(["ser"], names)) == ["server"]
    assert values(complete(["server", "e"], names)) == ["enable"]
    assert values(complete(["server", "l"], names)) == ["ls"]  # not `list` besides it
    assert values(complete(["server", "rem"], names)) == ["remove"]
    assert values(complete(["catalogs", "sh"], names)) == ["show"]  # the group by its alias


def test_double_dash_gives_long_flags_and_one_dash_the_short_ones_too(names):
    longs = complete(["feature", "ls", "--"], names)
    assert all(v.startswith("--") for v in values(longs)) and "--help" in values(longs)
    assert longs.directive == NO_FILE_COMP
    both = values(complete(["gateway", "run", "-"], names))
    assert "--transport" in both and "-h" in both
    assert values(complete(["oauth", "export", "x", "-"], names)) == ["--output", "-o", "--force", "--help", "-h"]


def test_a_flag_given_is_not_offered_again_unless_it_may_repeat(names):
    offered = values(complete(["gateway", "run", "--dry-run", "--servers", "time", "--"], names))
    assert "--dry-run" not in offered and "--servers" in offered and "--verbose" in offered


def test_flag_values_come_from_the_choices_in_both_spellings(names):
    spaced = complete(["gateway", "run", "--transport", "st"], names)
    assert values(spaced) == ["stdio", "streaming", "streamable", "streamable-http"]
    assert spaced.directive == NO_FILE_COMP
    assert values(complete(["gateway", "run", "--transport=s"], names)) == values(
        complete(["gateway", "run", "--transport", "s"], names)
    )
    assert values(complete(["gateway", "run", "--watch="], names)) == ["true", "false"]
    assert values(complete(["version", "--format", ""], names)) == ["json", "table"]


def test_a_file_value_or_argument_gets_the_shells_file_names(names):
    assert complete(["oauth", "export", "wiki", "--output", ""], names) == Answer([], DEFAULT)
    assert complete(["catalog", "import", ""], names) == Answer([], DEFAULT)
    assert complete(["catalog", "export", "team", ""], names) == Answer([], DEFAULT)


def test_a_value_nothing_can_complete_gets_neither_candidates_nor_files(names):
    assert complete(["gateway", "run", "--port", ""], names) == Answer([], NO_FILE_COMP)
    assert complete(["catalog", "create", ""], names) == Answer([], NO_FILE_COMP)
    assert complete(["server", "reset", ""], names) == Answer([], NO_FILE_COMP)  # takes no argument
    assert complete(["server", "inspect", "time", ""], names) == Answer([], NO_FILE_COMP)  # one only


def test_enable_offers_the_servers_not_enabled_and_disable_the_enabled_ones(names):
    enable = complete(["server", "enable", ""], names)
    assert enable.candidates == [("notes", "Notes"), ("wiki", "Team wiki")]
    assert enable.directive == NO_FILE_COMP
    assert values(complete(["server", "disable", ""], names)) == ["time"]
    assert values(complete(["server", "inspect", ""], names)) == ["notes", "time", "wiki"]
    assert values(complete(["server", "enable", "w"], names)) == ["wiki"]


def test_names_already_given_are_not_offered_again(names):
    assert values(complete(["server", "enable", "notes", ""], names)) == ["wiki"]
    assert values(complete(["secret", "rm", "wiki.token", ""], names)) == ["notes.token"]


def test_catalogs_come_with_their_display_names(names):
    assert complete(["catalog", "show", ""], names).candidates == [("team", "Team servers")]
    assert values(complete(["catalog", "fork", "team", ""], names)) == []  # NEW: a name to invent


def test_oauth_commands_offer_the_remote_servers_with_oauth(names):
    assert values(complete(["oauth", "authorize", ""], names)) == ["wiki"]


def test_secret_names_are_offered_never_their_values(names):
    answer = complete(["secret", "rm", ""], names)
    assert answer.candidates == [("notes.token", ""), ("wiki.token", "")]
    assert "value" not in render(answer)


def test_secret_set_offers_the_enabled_servers_secrets_without_a_space_after(names, mcp):
    assert complete(["secret", "set", ""], names) == Answer([], NO_FILE_COMP | NO_SPACE)  # time declares none
    registry.enable(mcp, ["notes"])
    assert complete(["secret", "set", ""], names) == Answer([("notes.token", "a secret of notes")], 6)


def test_feature_enable_offers_the_disabled_features_and_disable_the_enabled_ones(names):
    assert values(complete(["feature", "enable", ""], names)) == ["tool-name-prefix"]
    assert values(complete(["feature", "disable", ""], names)) == ["mcp-oauth-dcr"]


def test_tools_are_the_catalog_tools_of_the_served_servers_named_as_the_gateway_names_them(names, mcp, tmp_path):
    assert complete(["tools", "call", ""], names).candidates == [
        ("convert_time", ""),
        ("get_current_time", "The time now"),
    ]
    assert values(complete(["tools", "inspect", "--servers", "notes,time", ""], names)) == [
        "convert_time",
        "get_current_time",
        "nb__add_note",  # the catalog's prefix
    ]
    (tmp_path / "docker-config" / "config.json").write_text(json.dumps({"features": {"tool-name-prefix": "enabled"}}))
    mcp.write_text("tools.yaml", "time: [convert_time]\n")
    assert values(complete(["tools", "call", ""], names)) == ["time__convert_time"]
    assert complete(["tools", "call", "time__convert_time", ""], names) == Answer([], NO_FILE_COMP)


def test_a_comma_separated_list_completes_its_last_item(names):
    answer = complete(["gateway", "run", "--servers", "time,"], names)
    assert values(answer) == ["time,notes", "time,wiki"]
    assert answer.directive == NO_FILE_COMP | NO_SPACE
    assert values(complete(["gateway", "run", "--servers=n"], names)) == ["notes"]


def test_help_asked_for_or_an_unknown_command_ends_completion(names):
    assert complete(["server", "enable", "--help", ""], names) == Answer([], NO_FILE_COMP)
    assert complete(["nosuch", ""], names) == Answer([], NO_FILE_COMP)
    assert complete(["server", "nosuch", ""], names) == Answer([], NO_FILE_COMP)


def test_after_double_dash_every_word_is_an_argument(names):
    assert values(complete(["server", "enable", "--", "-"], names)) == []
    assert values(complete(["server", "enable", "--", ""], names)) == ["notes", "wiki"]


def test_render_prints_one_candidate_a_line_then_the_directive():
    answer = Answer([("a", "line one\n\tline two"), ("b", ""), ("two words", "x"), ("c", "y" * 100)], 4)
    assert render(answer) == f"a\tline one line two\nb\nc\t{'y' * 77}...\n:4\n"
    assert render(answer, descriptions=False) == "a\nb\nc\n:4\n"


def test_help_completes_the_command_path_word_after_word(names):
    root = Group("mcp", "", (*ROOT.commands, HELP))
    assert values(complete(["help", "se"], names, root)) == ["secret", "server"]
    assert values(complete(["help", "server", "e"], names, root)) == ["enable"]
    assert complete(["help", "server", "enable", ""], names, root) == Answer([], NO_FILE_COMP)


def test_every_argument_names_a_kind_completion_knows():
    def walk(node):
        if isinstance(node, Group):
            for child in node.commands:
                yield from walk(child)
        else:
            assert isinstance(node, Command)
            yield from node.args

    kinds = {a.complete for a in walk(Group("mcp", "", (*ROOT.commands, HELP)))}
    assert kinds <= completion.KINDS
    assert {"catalog", "server", "secret", "tool", "feature-enabled", "file"} <= kinds


@pytest.fixture
def home(tmp_path, monkeypatch, mcp):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    return tmp_path / "home"


def test_answer_reads_the_users_files_and_ends_with_cobras_stderr_line(home, capsys):
    assert completion.answer(GlobalOptions(), ["__complete", "mcp", "server", "disable", ""]) == 0
    out, err = capsys.readouterr()
    assert out == "time\tCurrent time and time zones\n:4\n"
    assert err == "Completion ended with directive: ShellCompDirectiveNoFileComp\n"


def test_answer_takes_the_docker_global_flags_after_mcp(home, tmp_path, capsys):
    config = tmp_path / "other-config"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"features": {"mcp-oauth-dcr": "disabled"}}))
    completion.answer(GlobalOptions(), ["__complete", "mcp", "--config", str(config), "-D", "feature", "enable", ""])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["mcp-oauth-dcr", "tool-name-prefix", ":4"]
    completion.answer(GlobalOptions(), ["__completeNoDesc", "server", "dis"])  # run directly: no `mcp`
    assert capsys.readouterr().out == "disable\n:4\n"


def test_a_broken_catalog_index_gives_no_candidates_and_exit_0(home, capsys):
    (home / ".docker" / "mcp" / "catalog.json").write_text("{not json")
    assert completion.answer(GlobalOptions(), ["__complete", "mcp", "server", "enable", ""]) == 0
    out, err = capsys.readouterr()
    assert out == ":4\n" and "Traceback" not in err
    assert completion.answer(GlobalOptions(debug=True), ["__complete", "mcp", "catalog", "show", ""]) == 0
    assert "Traceback" in capsys.readouterr().err  # --debug shows why


def test_the_value_of_a_docker_global_flag_gets_file_names(home, capsys):
    completion.answer(GlobalOptions(), ["__complete", "mcp", "--config", ""])
    assert capsys.readouterr().out == ":0\n"
