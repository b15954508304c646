"""Bad input gets an exact, plain message with file and line, through the library and `kg validate`."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.validate import EXIT_OK, EXIT_UNREADABLE, EXIT_VIOLATIONS, Validator, format_human

PROLOGUE = """\
@prefix kg: <https://w3id.org/detention-kg/def/> .
@prefix mt: <https://w3id.org/detention-kg/def/measure-type/> .
@prefix st: <https://w3id.org/detention-kg/def/status/> .
@prefix update: <https://w3id.org/detention-kg/id/update/> .
@prefix measure: <https://w3id.org/detention-kg/id/measure/> .
@prefix xref: <https://w3id.org/detention-kg/id/xref/> .
@prefix country: <https://w3id.org/detention-kg/id/country/> .
@prefix organisation: <https://w3id.org/detention-kg/id/organisation/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""  # 11 lines: the statements below start on line 12

UPDATE = """\
update:2020-07-01-testland a kg:Update ;
    dcterms:title "Testland, 1 July 2020"@en ;
    dcterms:issued "2020-07-01"^^xsd:date ;
    kg:country country:KZ ;
    dcterms:publisher organisation:global-detention-project ;
    dcterms:source <https://www.globaldetentionproject.org/01-july-2020-testland> .
"""  # lines 12-17

MEASURE = """\
measure:2020-07-01-testland-moratorium a kg:Measure ;
    rdfs:label "Moratorium"@en ;
    kg:reportedIn update:2020-07-01-testland ;
    kg:measureType mt:moratorium-on-detention-orders ;
    kg:status st:introduced ;
    kg:accordingTo organisation:international-legal-initiative ;
    kg:beginDate "2020-04-01"^^xsd:date ;
    kg:endDate "2020-06-30"^^xsd:date .
"""  # lines 18-25


def write(tmp_path, body: str, name: str = "update.ttl"):
    path = tmp_path / name
    path.write_text(PROLOGUE + textwrap.dedent(body), encoding="utf-8")
    return path


def human(validator, path) -> list[str]:
    return format_human([validator.validate_file(path)]).splitlines()


def test_a_well_formed_update_conforms(validator, tmp_path):
    report = validator.validate_file(write(tmp_path, UPDATE + MEASURE))
    assert report.conforms, format_human([report])
    assert report.triples == 14


def test_syntax_error_gives_line_column_and_reason(validator, tmp_path):
    path = write(tmp_path, UPDATE.replace('"Testland, 1 July 2020"@en', '"Testland, 1 July 2020@en'))
    report = validator.validate_file(path)
    assert report.status == "unreadable"
    assert human(validator, path)[0] == (
        f"{path}:13:46: syntax error: Line jumps are not allowed in string literals, use \\n "
        "(the string that starts at column 19 is not closed: add the closing quote)"
    )


def test_unknown_prefix_is_named(validator, tmp_path):
    path = write(tmp_path, UPDATE.replace("kg:country country:KZ", "kg:country nation:KZ"))
    assert human(validator, path)[0] == (
        f"{path}:15:16: syntax error: The prefix nation: has not been declared"
    )


def test_wrong_datatype_names_property_value_and_fix(validator, tmp_path):
    path = write(tmp_path, UPDATE.replace('"2020-07-01"^^xsd:date', '"1 July 2020"'))
    assert human(validator, path)[0] == (
        f'{path}:14: "Testland, 1 July 2020" (update:2020-07-01-testland) dcterms:issued: '
        'Give the update\'s publication date once, as "YYYY-MM-DD"^^xsd:date in dcterms:issued. '
        '[found: "1 July 2020"]'
    )


def test_missing_required_property_points_at_the_resource(validator, tmp_path):
    path = write(tmp_path, UPDATE + MEASURE.replace("    kg:status st:introduced ;\n", ""))
    assert human(validator, path)[0] == (
        f'{path}:18: "Moratorium" (measure:2020-07-01-testland-moratorium) kg:status: '
        "Give exactly one status from the status scheme (st:introduced, st:partial, st:planned, "
        "st:ended, st:not-introduced, st:none-occurred…). A measure that was not taken is recorded "
        "with a negative status, not left out."
    )


def test_cross_reference_to_nothing(tmp_path):
    validator = Validator(known_updates=[])
    body = UPDATE.replace(
        "kg:country country:KZ ;", "kg:country country:KZ ;\n    kg:crossReference xref:2020-07-01-testland-to-2020-06-31-nowhere ;"
    ) + (
        "xref:2020-07-01-testland-to-2020-06-31-nowhere a kg:CrossReference ;\n"
        "    kg:target update:2020-06-31-nowhere ;\n"
        "    kg:theme mt:lack-of-firewall .\n"
    )
    path = write(tmp_path, body)
    assert human(validator, path)[0] == (
        f"{path}:20: (xref:2020-07-01-testland-to-2020-06-31-nowhere) kg:target: This cross-reference "
        "points at an update the knowledge graph does not have: check the IRI "
        "(update:YYYY-MM-DD-country), or add that update's file. [found: update:2020-06-31-nowhere]"
    )


def test_date_range_the_wrong_way_round(validator, tmp_path):
    path = write(tmp_path, UPDATE + MEASURE.replace('"2020-04-01"^^xsd:date', '"2020-08-01"^^xsd:date'))
    assert human(validator, path)[0] == (
        f'{path}:24: "Moratorium" (measure:2020-07-01-testland-moratorium) kg:beginDate: '
        'Give at most one begin date, as "YYYY-MM-DD"^^xsd:date, no later than the end date. '
        '[found: "2020-08-01"^^xsd:date]'
    )


def test_two_updates_in_one_file_are_refused(validator, tmp_path):
    second = UPDATE.replace("2020-07-01-testland", "2020-07-02-testland")
    path = write(tmp_path, UPDATE + second)
    lines = human(validator, path)
    assert lines[0] == (
        f"{path}:18: a file holds one update, this one declares 2 "
        "(update:2020-07-01-testland, update:2020-07-02-testland): move each into its own file"
    )


def test_a_file_that_is_not_utf8(validator, tmp_path):
    path = tmp_path / "latin1.ttl"
    path.write_bytes((PROLOGUE + UPDATE).replace("Testland", "Tëstland").encode("latin-1"))
    assert human(validator, path)[0] == f"{path}:13:21: the file is not UTF-8 text: save it as UTF-8"


# -- the command: exit codes and formats -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (UPDATE + MEASURE, EXIT_OK),
        (UPDATE + MEASURE.replace("st:introduced", "mt:border-closure"), EXIT_VIOLATIONS),
        (UPDATE + MEASURE.replace(" .\n", "\n"), EXIT_UNREADABLE),
    ],
    ids=["conforms", "violation", "parse-error"],
)
def test_exit_codes(tmp_path, body, code):
    path = write(tmp_path, body)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == code, result.output


def test_unreadable_beats_violations_in_the_exit_code(tmp_path):
    good = write(tmp_path, UPDATE.replace('"2020-07-01"^^xsd:date', '"July"'), "a.ttl")
    broken = write(tmp_path, "this is not turtle", "b.ttl")
    result = CliRunner().invoke(main, ["validate", str(good), str(broken)])
    assert result.exit_code == EXIT_UNREADABLE
    assert "2 of 2 file(s) failed with 2 problem(s)" in result.output


def test_json_report_is_machine_readable(tmp_path):
    path = write(tmp_path, UPDATE + MEASURE.replace("st:introduced", "mt:border-closure"))
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(path)])
    report = json.loads(result.output)
    assert report["conforms"] is False
    [problem] = report["files"][0]["problems"]
    assert problem == {
        "file": str(path),
        "line": 22,
        "message": problem["message"],
        "kind": "shape",
        "severity": "violation",
        "column": None,
        "focus": "https://w3id.org/detention-kg/id/measure/2020-07-01-testland-moratorium",
        "label": "Moratorium",
        "path": "kg:status",
        "value": "mt:border-closure",
        "constraint": "ClassConstraintComponent",
        "shape": "kgsh:DevelopmentShape",
    }
    assert problem["message"].startswith("Give exactly one status from the status scheme")


def test_missing_path_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.ttl")])
    assert result.exit_code == EXIT_UNREADABLE
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_help_documents_the_exit_codes():
    result = CliRunner().invoke(main, ["validate", "--help"])
    assert "0 when all files conform, 1 when any has violations, 2 when a file cannot" in " ".join(
        result.output.split()
    )
