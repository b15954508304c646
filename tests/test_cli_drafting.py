"""`kg new` and `kg draft`: files written where the README says, never over an existing one."""

from __future__ import annotations

from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.cli import main
from kg.namespaces import ID, KG, MT

SEED_LIKE = (
    "14 June 2020 – Kazakhstan\n\nKazakhstan has introduced a moratorium on new detention orders, and no "
    "persons have been released. Nine detainees were confirmed to have the virus in Almaty.\n"
)


def test_kg_new_writes_a_valid_file_and_never_overwrites(tmp_path):
    target = tmp_path / "new.ttl"
    result = CliRunner().invoke(main, ["new", "--date", "2020-08-01", "--country", "FR", "-o", str(target)])
    assert result.exit_code == 0, result.output
    graph = Graph().parse(target)
    assert (URIRef(f"{ID}update/2020-08-01-france"), RDF.type, KG.Update) in graph
    assert CliRunner().invoke(main, ["validate", str(target)]).exit_code == 0
    again = CliRunner().invoke(main, ["new", "--date", "2020-08-01", "--country", "FR", "-o", str(target)])
    assert again.exit_code == 2 and "exists already" in again.output
    bad = CliRunner().invoke(main, ["new", "--date", "2020-08-01", "--country", "ZZ", "-o", str(tmp_path / "x.ttl")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_kg_draft_finds_measures_and_marks_guesses(tmp_path):
    text = tmp_path / "update.txt"
    text.write_text(SEED_LIKE, encoding="utf-8")
    target = tmp_path / "draft.ttl"
    result = CliRunner().invoke(main, ["draft", str(text), "-o", str(target)])
    assert result.exit_code == 0, result.output
    body = target.read_text(encoding="utf-8")
    assert "# REVIEW:" in body
    graph = Graph().parse(data=body, format="turtle")
    types = set(graph.objects(None, KG.measureType))
    assert {MT["moratorium-on-detention-orders"], MT["release-of-detainees"]} <= types


def test_a_new_update_keeps_the_iri_pattern_of_its_countrys_updates(tmp_path):
    # data/updates has 2020-07-24-russian-federation and 2020-10-08-viet-nam; a new update of
    # those countries must not start a second pattern (…-russia, …-vietnam) for the same country
    for country, slug in (("Russia", "russian-federation"), ("VN", "viet-nam"), ("FR", "france")):
        target = tmp_path / f"{slug}.ttl"
        result = CliRunner().invoke(main, ["new", "--date", "2021-03-01", "--country", country, "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert (URIRef(f"{ID}update/2021-03-01-{slug}"), RDF.type, KG.Update) in Graph().parse(target)
