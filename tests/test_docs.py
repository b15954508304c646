"""The README stays true: every setting, every command and every named query is documented."""

from __future__ import annotations

from click.testing import CliRunner

from kg import named_queries, settings
from kg.cli import main

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "exec make test"


def test_every_setting_is_in_the_readme_and_the_help():
    help_text = CliRunner().invoke(main, ["--help"]).output
    for setting in settings.SETTINGS:
        assert f"`{setting.env}`" in README, setting.env
        assert setting.env in help_text, setting.env


def test_every_command_is_in_the_readme():
    for name in main.commands:
        assert f"kg {name}" in README, name


def test_every_named_query_has_a_title_and_description():
    assert named_queries.names()
    for name in named_queries.names():
        query = named_queries.load(name)
        assert query.title and query.description, name
