"""The countries reference file: its content, and that it is what the generator makes.

The content tests read the committed ``data/reference/countries.ttl`` and need only rdflib;
the generator tests need pycountry, hdx-python-country and rigour, and are skipped (saying
so) where those are not installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import OWL, RDF, RDFS, SKOS

import kg
from kg.errors import KGError
from kg.namespaces import ID, KG, WD
from kg import reference

COUNTRIES_TTL = Path(__file__).resolve().parents[1] / "data" / "reference" / "countries.ttl"

_GENERATOR_MODULES = {"pycountry": "pycountry", "hdx.location": "hdx-python-country", "rigour": "rigour"}
_MISSING = [dist for mod, dist in _GENERATOR_MODULES.items() if importlib.util.find_spec(mod.split(".")[0]) is None]
needs_generator = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"the countries generator's packages are not installed ({', '.join(_MISSING)}): pip install "
    + " ".join(reference.SOURCE_PACKAGES),
)


@pytest.fixture(scope="module")
def committed() -> Graph:
    assert COUNTRIES_TTL.is_file(), f"{COUNTRIES_TTL} is missing: run `kg reference`"
    return Graph().parse(COUNTRIES_TTL, format="turtle")


def _country(graph: Graph, alpha2: str) -> URIRef:
    iri = ID["country/" + alpha2]
    assert (iri, RDF.type, KG.Country) in graph, f"no kg:Country {iri}"
    return iri


def _one(graph: Graph, subject, predicate):
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{subject} has {len(values)} {predicate}: {values}"
    return values[0]


def _plain(value) -> str:
    assert isinstance(value, Literal) and value.datatype is None and value.language is None, repr(value)
    return str(value)


def _header_versions(path: Path) -> dict[str, str]:
    """{package: version} named in the file's header comment."""
    head = "".join(line for line in path.read_text(encoding="utf-8").splitlines(True) if line.startswith("#"))
    match = re.search(r"from the packages (.+?)\.\n", head)
    assert match, "the header does not name the packages the file was generated from"
    return dict(part.rsplit(" ", 1) for part in match.group(1).split(", "))


# --- the committed file -------------------------------------------------------------------


def test_249_countries(committed):
    assert len(set(committed.subjects(RDF.type, KG.Country))) == 249


def test_each_country_has_codes_and_label(committed):
    for iri in committed.subjects(RDF.type, KG.Country):
        alpha2 = _plain(_one(committed, iri, KG.iso3166Alpha2))
        assert re.fullmatch(r"[A-Z]{2}", alpha2)
        assert iri == ID["country/" + alpha2]
        assert re.fullmatch(r"[A-Z]{3}", _plain(_one(committed, iri, KG.iso3166Alpha3)))
        assert re.fullmatch(r"[0-9]{3}", _plain(_one(committed, iri, KG.iso3166Numeric)))
        label = _one(committed, iri, RDFS.label)
        assert isinstance(label, Literal) and label.language == "en" and str(label).strip()
        for alt in committed.objects(iri, SKOS.altLabel):
            assert alt.language == "en" and str(alt) != str(label)


def test_codes_are_unique(committed):
    for predicate in (KG.iso3166Alpha2, KG.iso3166Alpha3, KG.iso3166Numeric):
        values = [str(o) for _, o in committed.subject_objects(predicate)]
        assert len(values) == 249 and len(set(values)) == 249, predicate


@pytest.mark.parametrize(
    "alpha2, alpha3, numeric, label, region, subregion, qid",
    [
        ("KZ", "KAZ", "398", "Kazakhstan", ("142", "Asia"), ("143", "Central Asia"), "Q232"),
        ("DE", "DEU", "276", "Germany", ("150", "Europe"), ("155", "Western Europe"), "Q183"),
        ("ZA", "ZAF", "710", "South Africa", ("002", "Africa"), ("202", "Sub-Saharan Africa"), "Q258"),
        ("LB", "LBN", "422", "Lebanon", ("142", "Asia"), ("145", "Western Asia"), "Q822"),
        ("AF", "AFG", "004", "Afghanistan", ("142", "Asia"), ("034", "Southern Asia"), "Q889"),
    ],
)
def test_spot_checks(committed, alpha2, alpha3, numeric, label, region, subregion, qid):
    iri = _country(committed, alpha2)
    assert _plain(_one(committed, iri, KG.iso3166Alpha3)) == alpha3
    assert _plain(_one(committed, iri, KG.iso3166Numeric)) == numeric
    assert _one(committed, iri, RDFS.label) == Literal(label, lang="en")
    for predicate, (code, name) in ((KG.unRegion, region), (KG.unSubregion, subregion)):
        target = _one(committed, iri, predicate)
        assert target == ID["region/" + code]
        assert _one(committed, target, RDFS.label) == Literal(name, lang="en")
    assert _one(committed, iri, OWL.sameAs) == WD[qid]


def test_alternative_names(committed):
    alts = set(committed.objects(_country(committed, "KZ"), SKOS.altLabel))
    assert Literal("Republic of Kazakhstan", lang="en") in alts
    tw = _country(committed, "TW")
    assert Literal("Taiwan", lang="en") in set(committed.objects(tw, SKOS.altLabel))


def test_antarctica_has_no_un_region(committed):
    aq = _country(committed, "AQ")
    assert not list(committed.objects(aq, KG.unRegion))
    assert not list(committed.objects(aq, KG.unSubregion))


def test_every_region_referenced_is_declared(committed):
    regions = set(committed.objects(None, KG.unRegion))
    subregions = set(committed.objects(None, KG.unSubregion))
    assert regions and subregions and not regions & subregions
    for iri in regions | subregions:
        assert (iri, RDF.type, KG.Region) in committed, f"{iri} is referenced but not declared"
        code = _plain(_one(committed, iri, KG.m49Code))
        assert re.fullmatch(r"[0-9]{3}", code) and iri == ID["region/" + code]
        assert _one(committed, iri, RDFS.label).language == "en"
    # and nothing is declared that no country uses
    assert set(committed.subjects(RDF.type, KG.Region)) == regions | subregions
    assert {str(_one(committed, r, RDFS.label)) for r in regions} == {"Africa", "Americas", "Asia", "Europe", "Oceania"}


def test_every_country_with_a_region_has_both(committed):
    for iri in committed.subjects(RDF.type, KG.Country):
        assert len(list(committed.objects(iri, KG.unRegion))) == len(list(committed.objects(iri, KG.unSubregion)))


def test_wikidata_links(committed):
    links = list(committed.subject_objects(OWL.sameAs))
    assert len(links) == 249 and len({o for _, o in links}) == 249
    for _, target in links:
        assert re.fullmatch(re.escape(str(WD)) + r"Q[1-9][0-9]*", str(target)), target


def test_header_says_generated(committed):
    text = COUNTRIES_TTL.read_text(encoding="utf-8")
    assert text.startswith("# GENERATED FILE: do not edit by hand.")
    assert set(_header_versions(COUNTRIES_TTL)) == set(reference.SOURCE_PACKAGES)


# --- the generator ------------------------------------------------------------------------


def test_missing_package_is_a_kgerror(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycountry", None)  # makes `import pycountry` fail
    with pytest.raises(KGError) as caught:
        reference.build_countries_graph()
    assert "pycountry" in caught.value.message and "pip install" in caught.value.hint


@needs_generator
def test_missing_rigour_is_a_kgerror(monkeypatch):
    monkeypatch.setitem(sys.modules, "rigour.territories", None)
    with pytest.raises(KGError, match="rigour"):
        reference.build_countries_graph()


@needs_generator
def test_committed_file_is_what_the_generator_makes(committed):
    fresh = reference.build_countries_graph()
    if not isomorphic(committed, fresh):
        _, only_committed, only_fresh = graph_diff(to_isomorphic(committed), to_isomorphic(fresh))
        pytest.fail(
            f"{COUNTRIES_TTL} is stale: run `kg reference` and commit the result.\n"
            f"  file made from: {_header_versions(COUNTRIES_TTL)}; installed: {reference.source_versions()}\n"
            f"  {len(only_committed)} triples only in the file, e.g. {sorted(only_committed)[:3]}\n"
            f"  {len(only_fresh)} triples only in a fresh build, e.g. {sorted(only_fresh)[:3]}"
        )


@needs_generator
def test_write_is_byte_stable(tmp_path, committed):
    first, second = tmp_path / "a.ttl", tmp_path / "b.ttl"
    count = reference.write_countries(first)
    assert reference.write_countries(second) == count == len(committed)
    assert first.read_bytes() == second.read_bytes()
    if _header_versions(COUNTRIES_TTL) == reference.source_versions():
        assert first.read_bytes() == COUNTRIES_TTL.read_bytes(), "same package versions, different bytes"


@needs_generator
def test_output_does_not_depend_on_hash_seed_or_insertion_order(tmp_path):
    src = str(Path(kg.__file__).resolve().parents[1])
    path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    code = "import sys, pathlib; from kg.reference import write_countries as w; w(pathlib.Path(sys.argv[1]))"
    outputs = []
    for seed in ("1", "2"):
        target = tmp_path / f"seed{seed}.ttl"
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=path)
        subprocess.run([sys.executable, "-c", code, str(target)], env=env, check=True, timeout=120)
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]

    graph = reference.build_countries_graph()
    shuffled = Graph()
    for triple in sorted(graph, reverse=True):
        shuffled.add(triple)
    assert reference.serialize_countries(shuffled) == reference.serialize_countries(graph)
