"""Docker's output flags on every listing, through the real docker CLI: `--format json|table|TEMPLATE`,
`--json`, `-q/--quiet`, and the header of an empty table (docs/plugin.md, "Output formats")."""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e.test_gateway_remote import LocalServer, import_remote

TEAM = """\
name: team
displayName: Team servers
registry:
  time:
    type: server
    image: mcp/time
    description: Time tools
  notes:
    type: remote
    remote:
      url: https://notes.example/mcp
    oauth:
      providers:
        - provider: notes
"""

NAMES = {
    ("catalog", "ls"): ["team"],
    ("catalog", "show", "team"): ["notes", "time"],
    ("server", "ls"): ["notes", "time"],
    ("secret", "ls"): ["api.token"],
    ("oauth", "ls"): ["notes"],
    ("feature", "ls"): ["mcp-oauth-dcr", "tool-name-prefix"],
}
LISTINGS = list(NAMES)


def _ok(user, *args: str) -> str:
    r = user.docker("mcp", *args)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    return r.stdout


@pytest.fixture
def store_user(plugin, pass_env):
    """A user with docker-credential-pass as credsStore (secret ls and oauth ls read the store)."""
    with open(os.path.join(plugin.config_dir, "config.json"), "w") as f:
        json.dump({"credsStore": "pass"}, f)
    plugin.env.update(pass_env)
    return plugin


@pytest.fixture
def user(store_user, tmp_path):
    """The team catalog imported, both its servers enabled, one secret stored."""
    (tmp_path / "team.yaml").write_text(TEAM)
    _ok(store_user, "catalog", "import", str(tmp_path / "team.yaml"))
    _ok(store_user, "server", "enable", "time", "notes")
    _ok(store_user, "secret", "set", "api.token=not-so-secret")
    return store_user


def test_every_listing_prints_its_names_with_q_quiet_and_a_name_template(user):
    for listing, names in NAMES.items():
        expected = "".join(f"{n}\n" for n in names)
        for flags in (["-q"], ["--quiet"], ["--format", "{{.Name}}"], ["--format={{.name}}"]):
            assert _ok(user, *listing, *flags) == expected, (listing, flags)


def test_every_listing_prints_the_same_json_for_format_json_and_json(user):
    for listing in LISTINGS:
        printed = _ok(user, *listing, "--format", "json")
        assert _ok(user, *listing, "--json") == printed, listing
        json.loads(printed)


def test_json_of_each_item_is_the_element_of_the_json_array(user):
    for listing in [("server", "ls"), ("secret", "ls"), ("oauth", "ls"), ("feature", "ls")]:
        lines = _ok(user, *listing, "--format", "{{json .}}").splitlines()
        assert [json.loads(line) for line in lines] == json.loads(_ok(user, *listing, "--json")), listing


def test_catalog_items_are_the_entries_with_their_names(user):
    shown = json.loads(_ok(user, "catalog", "show", "team", "--json"))["registry"]
    lines = _ok(user, "catalog", "show", "team", "--format", "{{json .}}").splitlines()
    assert [json.loads(line) for line in lines] == [{"name": n, **entry} for n, entry in shown.items()]
    assert _ok(user, "catalog", "show", "team", "--format", "{{.Name}} {{.Type}} {{.Remote.url}}") == (
        "notes remote https://notes.example/mcp\ntime server \n"
    )
    assert _ok(user, "catalog", "ls", "--format", "{{.Name}}: {{.DisplayName}}") == "team: Team servers\n"


def test_a_template_with_several_fields_literal_text_and_tabs(user):
    assert _ok(user, "server", "ls", "--format", r"{{.Name}}\t{{.Type}} ({{.Catalog}})") == (
        "notes\tremote (team)\ntime\tserver (team)\n"
    )
    assert _ok(user, "oauth", "ls", "--format", "{{.App}} {{.Authorized}} {{json .Scopes}}") == "notes false []\n"


def test_a_table_template_prints_a_header_and_aligns_the_columns_as_docker(user):
    assert _ok(user, "server", "ls", "--format", r"table {{.Name}}\t{{.Type}}\t{{.Description}}") == (
        "NAME      TYPE      DESCRIPTION\nnotes     remote    \ntime      server    Time tools\n"
    )
    assert (
        _ok(user, "oauth", "ls", "--format", r"table {{.Name}}\t{{.ClientType}}")
        == "NAME      CLIENT TYPE\nnotes     \n"
    )


def test_format_table_is_the_default_table(user):
    for listing in LISTINGS:
        assert _ok(user, *listing, "--format", "table") == _ok(user, *listing), listing


def test_an_unknown_field_is_one_line_exit_1_and_nothing_on_stdout(user):
    for listing in LISTINGS:
        r = user.docker("mcp", *listing, "--format", "{{.Nmae}}")
        assert (r.returncode, r.stdout) == (1, ""), listing
        message, _, fields = r.stderr.partition(": the fields are ")
        assert message == 'template: unknown field "Nmae"' and r.stderr.count("\n") == 1, listing
        assert "Name" in fields.rstrip("\n").split(", "), listing
    r = user.docker("mcp", "server", "ls", "--format", "{{.Nmae}}")
    assert r.stderr == (
        'template: unknown field "Nmae": the fields are Name, Catalog, Type, Description, Config, Secrets, OAuth\n'
    )


def test_a_template_that_does_not_parse_or_goes_beyond_the_subset_exits_1(user):
    r = user.docker("mcp", "server", "ls", "--format", "{{.Name}")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "template: unclosed action in '{{.Name}'\n")
    r = user.docker("mcp", "server", "ls", "--format", "{{upper .Name}}")
    assert (r.returncode, r.stdout) == (1, "") and "{{upper .Name}} is not supported" in r.stderr


def test_q_with_a_format_prints_names_and_dockers_warning(user):
    r = user.docker("mcp", "server", "ls", "-q", "--format", "json")
    assert (r.returncode, r.stdout) == (0, "notes\ntime\n")
    assert r.stderr == "WARNING: Ignoring custom format, because both --format and --quiet are set.\n"


def test_json_with_another_format_and_a_format_that_is_no_format_are_usage_errors(user):
    r = user.docker("mcp", "server", "ls", "--json", "--format", "table")
    assert (r.returncode, r.stdout) == (125, "")
    assert json.loads(r.stderr) == {"error": '--json and --format "table" cannot be used together: use one of them'}
    r = user.docker("mcp", "secret", "ls", "--format", "xml")
    assert (r.returncode, r.stdout) == (125, "")
    assert r.stderr.startswith("--format \"xml\" is not a format: use table, json or a Go template such as '{{.Name}}'")


def test_empty_lists_print_their_header(store_user):
    assert _ok(store_user, "catalog", "ls") == "NAME   DISPLAY NAME   SOURCE\n"
    assert _ok(store_user, "server", "ls") == "NAME   CATALOG   TYPE   CONFIG   DESCRIPTION\n"
    assert _ok(store_user, "secret", "ls") == "NAME   STORE\n"
    assert _ok(store_user, "oauth", "ls") == "NAME   CLIENT   AUTHORIZED   EXPIRES\n"
    assert _ok(store_user, "tools", "ls") == "NAME   SERVER   DESCRIPTION\n"
    empty = [("catalog", "ls"), ("server", "ls"), ("secret", "ls"), ("oauth", "ls"), ("tools", "ls")]
    for listing in empty:
        assert _ok(store_user, *listing, "-q") == "", listing
        assert _ok(store_user, *listing, "--format", "{{.Name}}") == "", listing
        assert _ok(store_user, *listing, "--format", "table {{.Name}}") == "NAME\n", listing
    _ok(store_user, "catalog", "create", "empty")
    assert _ok(store_user, "catalog", "show", "empty") == "NAME   TYPE   DESCRIPTION\n"
    assert _ok(store_user, "catalog", "show", "empty", "-q") == ""
    assert _ok(store_user, "catalog", "show", "empty", "--format", "table {{.Name}}\t{{.Image}}") == "NAME      IMAGE\n"


def test_default_tables_are_docker_tables_with_the_header_on_line_1(user):
    assert _ok(user, "server", "ls") == (
        "NAME    CATALOG   TYPE     CONFIG   DESCRIPTION\nnotes   team      remote   none\ntime    team      server   none     Time tools\n"
    )
    assert _ok(user, "catalog", "show", "team") == (
        "NAME    TYPE     DESCRIPTION\nnotes   remote\ntime    server   Time tools\n"
    )
    lines = _ok(user, "feature", "ls").splitlines()
    assert lines[0].split() == ["NAME", "ENABLED", "DESCRIPTION"]
    assert lines[1].startswith("mcp-oauth-dcr      true      Enable Dynamic Client Registration")
    assert lines[2].startswith("tool-name-prefix   false     ") and len(lines) == 3


def test_every_default_header_is_a_template_field(user):
    for listing in LISTINGS:
        header = _ok(user, *listing).splitlines()[0]
        for column in header.split("   "):  # columns are 3 spaces apart; DISPLAY NAME is one column
            if column.strip():
                field = column.strip().title().replace(" ", "")  # DISPLAY NAME: {{.DisplayName}}
                _ok(user, *listing, "--format", "{{." + field + "}}")
    assert _ok(user, "catalog", "ls", "--format", "{{.Source}}") == _ok(user, "catalog", "ls", "--format", "{{.Url}}")
    assert _ok(user, "secret", "ls", "--format", "{{.Store}}") == _ok(user, "secret", "ls", "--format", "{{.Provider}}")
    assert _ok(user, "oauth", "ls", "--format", r"table {{.Name}}\t{{.Client}}\t{{.Expires}}") == (
        "NAME      CLIENT    EXPIRES\nnotes               \n"
    )


def test_a_stray_json_flag_is_an_ordinary_usage_error(plugin):
    for args in (["version", "--json"], ["server", "enable", "nosuch", "--json"]):
        r = plugin.docker("mcp", *args)
        assert (r.returncode, r.stdout) == (125, ""), args
        command = "docker mcp " + " ".join(args[:-1] if args[0] == "version" else args[:2])
        assert r.stderr.startswith("unknown flag: --json\n\nUsage:  docker mcp "), r.stderr
        assert r.stderr.endswith(f"\nRun '{command} --help' for more information\n"), r.stderr
    r = plugin.docker("mcp", "server", "inspect", "nosuch", "--format", "json")  # --format json taken: JSON
    assert r.returncode == 1 and json.loads(r.stderr)["error"].startswith('server "nosuch" not found')


def test_one_server_is_one_server(store_user, tmp_path):
    (tmp_path / "solo.yaml").write_text("name: solo\ntype: server\nimage: mcp/solo\ndescription: Alone\n")
    _ok(store_user, "catalog", "import", str(tmp_path / "solo.yaml"))
    assert _ok(store_user, "catalog", "show", "solo") == "NAME   TYPE     DESCRIPTION\nsolo   server   Alone\n"


def test_tools_ls_formats_the_tools_a_client_sees(gateway_user, tmp_path):
    with LocalServer("alpha") as alpha:
        import_remote(gateway_user, tmp_path, "alpha", alpha.url)
        _ok(gateway_user, "server", "enable", "alpha")
        assert _ok(gateway_user, "tools", "ls", "-q") == "echo\nfail\n"
        assert _ok(gateway_user, "tools", "ls", "--format", "{{.Name}} {{.Server}}") == "echo alpha\nfail alpha\n"
        listed = json.loads(_ok(gateway_user, "tools", "ls", "--json"))
        assert [(t["name"], t["server"]) for t in listed] == [("echo", "alpha"), ("fail", "alpha")]
        assert json.loads(_ok(gateway_user, "tools", "ls", "--format", "json")) == listed
        lines = _ok(gateway_user, "tools", "ls", "--format", "{{json .}}").splitlines()
        assert [json.loads(line) for line in lines] == listed
        r = gateway_user.docker("mcp", "tools", "ls", "--format", "{{.Nmae}}")
        assert (r.returncode, r.stdout) == (1, "") and r.stderr.startswith('template: unknown field "Nmae"')


def test_version_takes_a_template(plugin):
    version = _ok(plugin, "version")
    assert _ok(plugin, "version", "--format", "{{.Version}}") == version
    assert json.loads(_ok(plugin, "version", "--format", "{{json .}}")) == {"version": version.strip()}
