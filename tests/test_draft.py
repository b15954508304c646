"""The drafter: `new_update` templates and `draft_update` on the seed's text and tricky sentences.

Assertions are on the parsed Turtle (an rdflib Graph) and on the structured findings, not on
substrings of the text — except for the `# REVIEW:` comments, which exist only as text.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from kg.draft import Draft, draft_update, new_update, parse_number
from kg.errors import KGError
from kg.namespaces import ID, KG, MT, QK, SCHEMA, ST

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed" / "000_b532f67d3f677f7d.txt"
FIXTURES = Path(__file__).resolve().parent / "data" / "draft"

UPDATE = ID["update/2020-06-14-kazakhstan"]
XSD_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")
XSD_DURATION = URIRef("http://www.w3.org/2001/XMLSchema#duration")


def iri(kind: str, slug: str) -> URIRef:
    return ID[f"{kind}/{slug}"]


@pytest.fixture(scope="module")
def seed_draft() -> Draft:
    if not SEED.exists():
        pytest.skip(f"the seed text is not at {SEED}")
    return draft_update(SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seed_graph(seed_draft) -> Graph:
    return Graph().parse(data=seed_draft.turtle, format="turtle")


def developments(graph: Graph, measure_type: URIRef) -> list[URIRef]:
    return sorted(graph.subjects(KG.measureType, measure_type))


def only(graph: Graph, measure_type: URIRef) -> URIRef:
    found = developments(graph, measure_type)
    assert len(found) == 1, f"expected one {measure_type}, found {found}"
    return found[0]


def finding(draft: Draft, measure_type: str):
    found = [m for m in draft.findings.measures if m.type == measure_type]
    assert len(found) == 1, f"expected one {measure_type} in the findings, found {found}"
    return found[0]


# ---------------------------------------------------------------- the seed update


def test_seed_draft_parses_and_validates_with_no_problem(seed_draft, validator):
    report = seed_draft.validate(validator)
    assert [p.message for p in report.problems] == []
    assert report.status == "conforms"
    assert seed_draft.file_name == "2020-06-14-kazakhstan.ttl"
    assert seed_draft.update_iri == "update:2020-06-14-kazakhstan"


def test_seed_update_date_country_and_sources(seed_draft, seed_graph):
    f = seed_draft.findings
    assert (f.date.value, f.date.how) == ("2020-06-14", "header")
    assert (f.country.code, f.country.how) == ("KZ", "header")
    assert (UPDATE, RDF.type, KG.Update) in seed_graph
    assert seed_graph.value(UPDATE, DCTERMS.issued) == Literal("2020-06-14", datatype=XSD_DATE)
    assert seed_graph.value(UPDATE, DCTERMS.title) == Literal("Kazakhstan, 14 June 2020", lang="en")
    assert seed_graph.value(UPDATE, KG.country) == iri("country", "KZ")
    assert seed_graph.value(UPDATE, DCTERMS.publisher) == iri("organisation", "global-detention-project")
    # ILI by its label (and abbreviation), CABAR by a fuzzy match of the misspelt "Bueau"
    agents = {a.iri: a for a in f.agents}
    assert agents["organisation:international-legal-initiative"].role == "source"
    assert agents["organisation:cabar"].how == "fuzzy"
    assert set(seed_graph.objects(UPDATE, KG.reportingBody)) == {
        iri("organisation", "international-legal-initiative"), iri("organisation", "cabar")}


def test_seed_moratorium_with_its_planned_end(seed_draft, seed_graph):
    measure = only(seed_graph, MT["moratorium-on-detention-orders"])
    assert seed_graph.value(measure, KG.status) == ST.introduced
    assert seed_graph.value(measure, KG.plannedEndDate) == Literal("2020-07-10", datatype=XSD_DATE)
    assert seed_graph.value(measure, KG.accordingTo) == iri("organisation", "international-legal-initiative")
    assert seed_graph.value(measure, KG.reportedVia) == URIRef(str(KG) + "channel/submitted-to-gdp")
    m = finding(seed_draft, "mt:moratorium-on-detention-orders")
    assert (m.status, m.planned_end_date, m.negative) == ("st:introduced", "2020-07-10", False)


def test_seed_halted_deportations(seed_draft, seed_graph):
    measure = only(seed_graph, MT["suspension-of-deportations"])
    assert seed_graph.value(measure, KG.status) == ST.introduced
    assert seed_graph.value(measure, KG.plannedEndDate) == Literal("2020-07-10", datatype=XSD_DATE)
    assert "ceased deportation proceedings" in finding(seed_draft, "mt:suspension-of-deportations").cue


def test_seed_negative_release_fact(seed_draft, seed_graph):
    measure = only(seed_graph, MT["release-of-detainees"])
    assert seed_graph.value(measure, KG.status) == ST["none-occurred"]
    assert seed_graph.value(measure, KG.plannedEndDate) is None  # the planned end is the positive measures'
    m = finding(seed_draft, "mt:release-of-detainees")
    assert m.negative and m.status == "st:none-occurred"


def test_seed_visits_testing_and_the_rest(seed_draft, seed_graph):
    visits = only(seed_graph, MT["suspension-of-visits"])
    assert seed_graph.value(visits, KG.status) == ST.introduced
    assert seed_graph.value(visits, KG.plannedEndDate) == Literal("2020-07-10", datatype=XSD_DATE)
    testing = only(seed_graph, MT["covid-19-testing"])
    assert seed_graph.value(testing, KG.status) == ST.partial  # "some … tested … not all"
    for measure_type, status in (("exclusion-from-support", "reported"), ("lack-of-firewall", "reported"),
                                 ("social-benefit", "introduced"), ("stranded-migrants", "reported")):
        assert seed_graph.value(only(seed_graph, MT[measure_type]), KG.status) == ST[status]
    stranded = only(seed_graph, MT["stranded-migrants"])
    assert seed_graph.value(stranded, KG.duration) == Literal("P2M", datatype=XSD_DURATION)
    # The cross-reference sentence is about other countries: it adds no measure of its own.
    assert len(developments(seed_graph, MT["lack-of-firewall"])) == 1


def test_seed_nine_cases_in_almaty(seed_draft, seed_graph):
    incident = only(seed_graph, MT["confirmed-cases"])
    assert (incident, RDF.type, KG.Incident) in seed_graph
    assert seed_graph.value(incident, KG.status) == ST.reported
    almaty = iri("place", "kz-almaty")
    assert seed_graph.value(incident, KG.place) == almaty
    assert seed_graph.value(almaty, RDFS.label) == Literal("Almaty", lang="en")
    figure = seed_graph.value(incident, KG.relatedFigure)
    assert seed_graph.value(figure, SCHEMA.value).toPython() == 9
    assert seed_graph.value(figure, KG.quantityKind) == QK["confirmed-cases"]
    assert seed_graph.value(figure, KG.place) == almaty
    nine = [x for x in seed_draft.findings.figures if x.value == 9]
    assert len(nine) == 1 and nine[0].place == "place:kz-almaty" and nine[0].place_label == "Almaty"
    assert "confirmed" in nine[0].counts


def test_seed_more_than_230_migrants(seed_draft, seed_graph):
    figures = [x for x in seed_draft.findings.figures if x.min_value == 230]
    assert len(figures) == 1
    x = figures[0]
    assert (x.value, x.max_value, x.min_exclusive, x.unit) == (None, None, True, "people")
    assert x.counts == "Tajik migrants"
    figure = URIRef(ID[x.iri.replace("figure:", "figure/")])
    assert seed_graph.value(figure, SCHEMA.minValue).toPython() == 230
    assert seed_graph.value(figure, KG.minExclusive).toPython() is True
    assert seed_graph.value(figure, SCHEMA.value) is None


def test_seed_other_figures(seed_draft, seed_graph):
    by_text = {x.text.lower(): x for x in seed_draft.findings.figures}
    population = by_text["some 3.5 million"]
    assert (population.value, population.estimate, population.quantity_kind) == (3_500_000, True, "qk:migrant-population")
    share = by_text["more than half"]
    assert (share.min_value, share.min_exclusive, share.unit, share.proportion_of) == (
        0.5, True, "proportion", population.iri)
    benefit = by_text["100.42 usd per month"]
    assert (benefit.value, benefit.unit, benefit.quantity_kind) == (100.42, "USD per month", "qk:money-amount")
    figure = URIRef(ID[benefit.iri.replace("figure:", "figure/")])
    assert seed_graph.value(figure, SCHEMA.value).toPython() == Decimal("100.42")


def test_seed_dates_10_july_and_2_june(seed_draft, seed_graph):
    dates = {d.value: d for d in seed_draft.findings.dates}
    assert "planned-end" in dates["2020-07-10"].roles
    assert dates["2020-07-10"].year_inferred  # "10 July": the year comes from the update's date
    assert {"end", "begin", "cross-reference"} <= set(dates["2020-06-02"].roles)
    july = Literal("2020-07-10", datatype=XSD_DATE)
    june = Literal("2020-06-02", datatype=XSD_DATE)
    assert len(list(seed_graph.subjects(KG.plannedEndDate, july))) == 3
    return_home = only(seed_graph, MT["repatriation-of-stranded-nationals"])
    assert seed_graph.value(return_home, KG.beginDate) == june  # "until 2 June, when authorities facilitated …"
    assert seed_graph.value(only(seed_graph, MT["border-closure"]), KG.endDate) == june


def test_seed_three_cross_references(seed_draft, seed_graph):
    expected = {"2020-06-10-germany", "2020-06-02-lebanon", "2020-05-26-south-africa"}
    xrefs = set(seed_graph.subjects(RDF.type, KG.CrossReference))
    assert {seed_graph.value(x, KG.target) for x in xrefs} == {iri("update", t) for t in expected}
    for x in xrefs:
        assert seed_graph.value(x, KG.theme) == MT["lack-of-firewall"]
        assert (UPDATE, KG.crossReference, x) in seed_graph
    assert set(seed_graph.objects(UPDATE, DCTERMS.references)) == {iri("update", t) for t in expected}
    found = {x.target: x for x in seed_draft.findings.cross_references}
    assert set(found) == {f"update:{t}" for t in expected}
    assert all(x.known and x.theme == "mt:lack-of-firewall" for x in found.values())
    assert (found["update:2020-06-10-germany"].date, found["update:2020-06-10-germany"].country) == ("2020-06-10", "DE")


def test_seed_cited_article(seed_draft, seed_graph):
    [source] = seed_draft.findings.sources
    assert (source.publisher, source.issued, source.language) == ("organisation:fergana", "2020-06-03", "ru")
    assert seed_graph.value(UPDATE, KG.cites) == iri("source", "fergana-2020-06-03")


def test_every_guess_is_marked_for_review(seed_draft):
    guessed = re.compile(r"^\s+(?:kg:measureType|kg:status|schema:value|schema:minValue|kg:counts|kg:quantityKind"
                         r"|kg:theme|kg:plannedEndDate|kg:beginDate|kg:endDate|kg:accordingTo|kg:takenBy) ")
    lines = [line for line in seed_draft.turtle.splitlines() if guessed.match(line)]
    assert lines
    assert [line for line in lines if "# REVIEW:" not in line] == []


def test_findings_are_plain_data(seed_draft):
    data = json.loads(json.dumps(seed_draft.to_dict()))
    assert data["findings"]["country"]["code"] == "KZ"
    assert {m["type"] for m in data["findings"]["measures"]} >= {"mt:moratorium-on-detention-orders"}


# ---------------------------------------------------------------- negations and other sentences


def negation_cases():
    for line in (FIXTURES / "negations.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, measure_type, status = line.split("\t")
            yield pytest.param(text, measure_type, status, id=text[:50])


@pytest.mark.parametrize("text,measure_type,status", list(negation_cases()))
def test_negations_and_qualifiers(text, measure_type, status):
    draft = draft_update("3 July 2020 – Austria\n\n" + text + "\n")
    assert (measure_type, status) in [(m.type, m.status) for m in draft.findings.measures]
    graph = Graph().parse(data=draft.turtle, format="turtle")
    measure = only(graph, URIRef(str(MT) + measure_type.split(":")[1]))
    assert graph.value(measure, KG.status) == URIRef(str(ST) + status.split(":")[1])


def test_a_call_for_release_is_no_release():
    draft = draft_update("3 July 2020 – Austria\n\nThe High Court rejected the bid for the release of all detainees.\n")
    assert [m.type for m in draft.findings.measures] == ["mt:court-order"]


def test_cross_reference_to_an_update_the_dataset_lacks_stays_a_comment(validator):
    draft = draft_update((FIXTURES / "unknown-target.txt").read_text(encoding="utf-8"))
    [xref] = draft.findings.cross_references
    assert (xref.target, xref.known, xref.theme) == ("update:2020-04-03-austria", False, "mt:suspension-of-visits")
    assert any("update:2020-04-03-austria" in w for w in draft.findings.warnings)
    graph = Graph().parse(data=draft.turtle, format="turtle")
    assert list(graph.subjects(RDF.type, KG.CrossReference)) == []
    assert list(graph.objects(None, DCTERMS.references)) == []
    assert "# xref:2020-07-03-austria-to-2020-04-03-austria a kg:CrossReference ;" in draft.turtle
    assert validator.validate_file(draft.file_name, text=draft.turtle.encode()).conforms
    # the header "Austria, 3 July 2020", a body matched through a variant of its label, and bounds
    assert (draft.findings.date.value, draft.findings.country.code) == ("2020-07-03", "AT")
    ministry = next(m for m in draft.findings.agents if m.iri == "authority:at-federal-interior-ministry")
    assert ministry.role == "source"
    [visits] = [m for m in draft.findings.measures if m.type == "mt:suspension-of-visits"]
    assert (visits.begin_date, visits.according_to) == ("2020-03-16", "authority:at-federal-interior-ministry")
    [detainees] = [x for x in draft.findings.figures if x.min_value == 120]
    assert detainees.min_exclusive and detainees.place_label == "Vordernberg centre"


@pytest.mark.parametrize("words,value", [
    ("one", 1), ("two", 2), ("nine", 9), ("twelve", 12), ("fifteen", 15), ("twenty", 20),
    ("twenty-five", 25), ("a hundred", 100), ("two hundred and fifty", 250), ("three thousand", 3000),
    ("one million", 1_000_000), ("half a million", 500_000), ("3.5 million", 3_500_000), ("3,417", 3417),
    ("100.42", 100.42), ("25%", 0.25),
])
def test_number_words(words, value):
    assert parse_number(words) == pytest.approx(value)


def test_figures_in_prose():
    text = ("3 July 2020 – Austria\n\nTwenty detainees were released, fewer than fifteen remain, up to 40% are asylum "
            "seekers, and between 200 and 300 people are held in police stations; a thousand migrants live nearby.\n")
    found = {x.text.lower(): x for x in draft_update(text).findings.figures}
    assert found["twenty"].value == 20 and found["twenty"].quantity_kind == "qk:released-detainees"
    assert (found["fewer than fifteen"].max_value, found["fewer than fifteen"].max_exclusive) == (15, True)
    assert (found["up to 40%"].max_value, found["up to 40%"].unit) == (0.4, "proportion")
    assert (found["200 and 300"].min_value, found["200 and 300"].max_value) == (200, 300)
    assert found["a thousand"].value == 1000


def test_options_override_the_header_and_the_text_must_say_when():
    draft = draft_update("No persons have been released.", date="2020-06-14", country="Kazakhstan",
                         source_url="https://www.globaldetentionproject.org/14-june-2020-kazakhstan")
    assert (draft.findings.date.how, draft.findings.country.code) == ("option", "KZ")
    graph = Graph().parse(data=draft.turtle, format="turtle")
    assert graph.value(UPDATE, DCTERMS.source) == URIRef("https://www.globaldetentionproject.org/14-june-2020-kazakhstan")
    with pytest.raises(KGError) as error:
        draft_update("No persons have been released.", country="KZ")
    assert "--date" in error.value.hint
    with pytest.raises(KGError):
        draft_update("No persons have been released.", date="2020-06-14", country="Atlantis")
    with pytest.raises(KGError):
        draft_update("   ")


# ---------------------------------------------------------------- new_update


def test_new_update_validates_as_written(validator):
    text = new_update("2020-07-01", "kz", "https://www.globaldetentionproject.org/01-july-2020-kazakhstan")
    report = validator.validate_file("2020-07-01-kazakhstan.ttl", text=text.encode())
    assert report.conforms, [p.message for p in report.problems]
    graph = Graph().parse(data=text, format="turtle")
    update = iri("update", "2020-07-01-kazakhstan")
    assert graph.value(update, DCTERMS.title) == Literal("Kazakhstan, 1 July 2020", lang="en")
    assert graph.value(update, DCTERMS.issued) == Literal("2020-07-01", datatype=XSD_DATE)
    assert graph.value(update, KG.country) == iri("country", "KZ")
    assert graph.value(update, DCTERMS.publisher) == iri("organisation", "global-detention-project")
    assert graph.value(update, DCTERMS.source) == URIRef("https://www.globaldetentionproject.org/01-july-2020-kazakhstan")
    # placeholders are comments only: the update is the file's one resource
    assert set(graph.subjects()) == {update}


def test_new_update_without_a_web_page_or_with_a_title(validator):
    text = new_update("14 June 2020", "RUS", None, title='Russia: "stranded" migrants')
    assert validator.validate_file("x.ttl", text=text.encode()).conforms
    graph = Graph().parse(data=text, format="turtle")
    update = iri("update", "2020-06-14-russian-federation")  # the pattern data/updates uses for RU
    assert graph.value(update, KG.coverage) is not None
    assert graph.value(update, DCTERMS.title) == Literal('Russia: "stranded" migrants', lang="en")


@pytest.mark.parametrize("date,country,url", [
    ("2020-06-14", "XX", None), ("2020-06-14", "Atlantis", None), ("2020-02-30", "KZ", None),
    ("14/06/2020", "KZ", None), ("2020-06-14", "KZ", "www.example.org/no scheme"),
])
def test_new_update_refuses_bad_input(date, country, url):
    with pytest.raises(KGError) as error:
        new_update(date, country, url)
    assert error.value.hint


def test_cross_reference_targets_are_resolved_by_date_and_country(tmp_path, monkeypatch):
    """The dataset's own IRI wins over the name pattern ("Russia" -> update:…-russian-federation)."""
    (tmp_path / "reference").mkdir()
    for path in (ROOT / "data" / "reference").glob("*.ttl"):
        (tmp_path / "reference" / path.name).write_bytes(path.read_bytes())
    (tmp_path / "updates").mkdir()
    (tmp_path / "updates" / "2020-07-24-russian-federation.ttl").write_text(
        "@prefix kg: <https://w3id.org/detention-kg/def/> .\n"
        "@prefix dcterms: <http://purl.org/dc/terms/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        "<https://w3id.org/detention-kg/id/update/2020-07-24-russian-federation> a kg:Update ;\n"
        '    dcterms:issued "2020-07-24"^^xsd:date ;\n'
        "    kg:country <https://w3id.org/detention-kg/id/country/RU> .\n", encoding="utf-8")
    monkeypatch.setenv("KG_DATA", str(tmp_path))
    draft = draft_update("1 August 2020 – Uzbekistan\n\nMigrants stranded in Russia were flown home "
                         "(see the 24 July Russia update).\n")
    [xref] = draft.findings.cross_references
    assert (xref.target, xref.known, xref.country) == ("update:2020-07-24-russian-federation", True, "RU")
    graph = Graph().parse(data=draft.turtle, format="turtle")
    assert set(graph.objects(None, KG.target)) == {iri("update", "2020-07-24-russian-federation")}
