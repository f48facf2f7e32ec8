"""The `--format` template subset (docker_mcp.formatting) and the listing flags (commands.listing)."""

from __future__ import annotations

import pytest

from docker_mcp.commands.listing import Listing
from docker_mcp.errors import UsageError
from docker_mcp.formatting import Template, TemplateError, go_json, tabwrite

SERVER_KEYS = ("name", "catalog", "type", "description", "config")
TIME = {"name": "time", "catalog": "team", "type": "server", "description": "Time tools", "config": "none"}
RETIRED = {"name": "retired", "catalog": None, "type": None, "description": "", "config": "none"}


def test_a_field_is_a_json_key_in_go_style_matched_in_any_case():
    assert Template("{{.Name}}", SERVER_KEYS).render(TIME) == "time"
    assert Template("{{.name}}/{{.CATALOG}}", SERVER_KEYS).render(TIME) == "time/team"
    assert Template("{{.ClientType}}", ("app", "clientType")).render({"clientType": "dcr"}) == "dcr"


def test_literal_text_and_backslash_t_and_n_between_fields():
    template = Template(r"{{.Name}}\t{{.Type}} ({{.Catalog}})\n", SERVER_KEYS)
    assert template.render(TIME) == "time\tserver (team)\n"
    assert template.lines([TIME, RETIRED]) == "time\tserver (team)\n\nretired\t ()\n\n"


def test_null_and_absent_values_print_nothing_and_json_null():
    assert Template("[{{.Catalog}}][{{.Type}}]", SERVER_KEYS).render(RETIRED) == "[][]"
    assert Template("{{json .Catalog}}", SERVER_KEYS).render(RETIRED) == "null"
    assert Template("[{{.Description}}]", SERVER_KEYS).render({"name": "x"}) == "[]"


def test_values_print_as_go_prints_decoded_json():
    keys = ("name", "enabled", "count", "tags", "remote", "ratio")
    item = {
        "name": "x",
        "enabled": False,
        "count": 3,
        "tags": ["a", "b"],
        "remote": {"url": "u", "headers": {"B": "2", "A": "1"}},
        "ratio": 2.0,
    }
    template = Template("{{.Enabled}} {{.Count}} {{.Tags}} {{.Remote}} {{.Ratio}}", keys)
    assert template.render(item) == "false 3 [a b] map[headers:map[A:1 B:2] url:u] 2"


def test_json_of_the_item_and_of_a_field_is_compact_like_go():
    template = Template("{{json .}}", SERVER_KEYS)
    assert template.render(TIME) == (
        '{"name":"time","catalog":"team","type":"server","description":"Time tools","config":"none"}'
    )
    assert Template("{{ json .Name }}", SERVER_KEYS).render(TIME) == '"time"'
    assert go_json({"d": "<a&b> é"}) == '{"d":"\\u003ca\\u0026b\\u003e é"}'


def test_a_dotted_path_reads_inside_an_object():
    keys = ("name", "remote")
    item = {"name": "slack", "remote": {"url": "https://mcp.slack.com/mcp"}}
    assert Template("{{.Remote.url}}|{{.Remote.URL}}|{{.Remote.nope}}", keys).render(item) == (
        "https://mcp.slack.com/mcp|https://mcp.slack.com/mcp|"
    )
    assert Template("{{.Name.deeper}}", keys).render(item) == ""


def test_an_alias_is_one_more_field_name():
    template = Template("{{.Name}} {{.App}}", ("app", "authorized"), aliases={"name": "app"})
    assert template.render({"app": "slack", "authorized": True}) == "slack slack"


def test_table_prints_a_header_of_the_field_names_and_aligns_as_docker_tabwriter():
    template = Template(r"table {{.Name}}\t{{.Catalog}}\t{{.Description}}", SERVER_KEYS)
    assert template.table
    # the widths of `docker context ls --format 'table …'`: the widest cell plus 3, at least 10
    assert template.lines([TIME, {**RETIRED, "catalog": "a-long-catalog-name"}]) == (
        "NAME      CATALOG               DESCRIPTION\n"
        "time      team                  Time tools\n"
        "retired   a-long-catalog-name   \n"
    )


def test_a_table_of_no_items_is_its_header():
    assert Template(r"table {{.Name}}\t{{.ClientType}}", ("name", "clientType")).lines([]) == "NAME      CLIENT TYPE\n"


def test_without_the_table_prefix_tabs_stay_tabs():
    assert Template(r"{{.Name}}\t{{.Type}}", SERVER_KEYS).lines([TIME]) == "time\tserver\n"


def test_tabwriter_aligns_each_block_of_consecutive_lines_that_have_the_column():
    # Go's text/tabwriter: a line without the column ends the block; text after the last tab is free
    assert tabwrite("a\tb\tc\nlonger-than-ten\tb\n\nx\ty\n") == (
        "a                 b         c\nlonger-than-ten   b\n\nx         y\n"
    )


def test_an_unknown_field_names_itself_and_the_fields_there_are():
    with pytest.raises(TemplateError) as e:
        Template("{{.Nmae}}", SERVER_KEYS)
    assert str(e.value) == 'template: unknown field "Nmae": the fields are Name, Catalog, Type, Description, Config'
    assert e.value.exit_code == 1


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("{{.Name}", "unclosed action"),
        ("{{.Name}} {{", "unclosed action"),
        ("{{upper .Name}}", "{{upper .Name}} is not supported"),
        ("{{.Name | printf}}", "is not supported"),
        ("{{range .}}{{end}}", "is not supported"),
        ("{{json}}", "is not supported"),
        ("{{Name}}", "is not supported"),
        ("{{.Name..x}}", "is not supported"),
    ],
)
def test_a_template_beyond_the_subset_or_that_does_not_parse_is_an_error(text, fragment):
    with pytest.raises(TemplateError) as e:
        Template(text, SERVER_KEYS)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_the_whole_item_prints_as_go_prints_a_map():
    assert Template("{{.}}", ("name", "on")).render({"name": "x", "on": True}) == "map[name:x on:true]"


# the listing flags


def listing(format=None, json=False, quiet=False, **kw):
    return Listing("docker mcp server ls", format, json, quiet, SERVER_KEYS, **kw)


def test_the_default_is_the_table_and_json_has_two_spellings():
    assert listing().kind == "table"
    assert listing("table").kind == "table"
    assert listing("json").kind == "json"
    assert listing(json=True).kind == "json"
    assert listing("json", json=True).kind == "json"
    assert listing(r"table {{.Name}}").kind == "template"
    assert listing("yaml", formats=("table", "json", "yaml")).kind == "yaml"


def test_quiet_prints_the_key_of_each_item(capsys):
    listing(quiet=True).print([TIME, RETIRED])
    assert capsys.readouterr().out == "time\nretired\n"
    Listing("docker mcp oauth ls", None, False, True, ("app",), key="app").print([{"app": "slack"}])
    assert capsys.readouterr().out == "slack\n"


def test_quiet_wins_over_a_format_with_dockers_warning(capsys):
    assert listing("json", quiet=True).kind == "quiet"
    assert listing("{{.Nmae}}", quiet=True).kind == "quiet"  # the format is not even read
    assert capsys.readouterr().err == (
        "WARNING: Ignoring custom format, because both --format and --quiet are set.\n" * 2
    )
    assert listing("table", quiet=True).kind == "quiet"
    assert capsys.readouterr().err == ""


def test_json_with_another_format_and_a_format_without_a_field_are_usage_errors():
    with pytest.raises(UsageError) as e:
        listing("table", json=True)
    assert str(e.value) == '--json and --format "table" cannot be used together: use one of them'
    with pytest.raises(UsageError) as e:
        listing("xml")
    assert str(e.value) == "--format \"xml\" is not a format: use table, json or a Go template such as '{{.Name}}'"
    assert e.value.exit_code == 125 and e.value.command_path == "docker mcp server ls"


def test_a_template_prints_a_line_per_item(capsys):
    listing("{{.Name}}:{{.Config}}").print([TIME, RETIRED])
    assert capsys.readouterr().out == "time:none\nretired:none\n"


def test_tools_ls_items_format_with_the_tool_keys(capsys):
    # `tools ls` needs a running server through the docker CLI (tests/e2e/test_listing_formats.py runs one
    # on loopback); here its keys, the optional MCP Tool keys included
    from docker_mcp.commands.tools import TOOL_KEYS

    tool = {"name": "echo", "server": "alpha", "description": "Echo", "inputSchema": {"type": "object"}}
    Listing(
        "docker mcp tools ls", r"{{.Name}}\t{{.Server}}\t{{json .InputSchema}}[{{.Title}}]", False, False, TOOL_KEYS
    ).print([tool])
    assert capsys.readouterr().out == 'echo\talpha\t{"type":"object"}[]\n'
