"""Researchers' canned queries and the comparison matrix, on fixture data with known answers.

The store (conftest's web_store) holds the seed (Kazakhstan), the three updates it cites, a
hostile-markup update (Sweden) and two invented "Fixtureland" updates (country code PT) built
so that every research query has something to find.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse

import pytest

from kg import named_queries
from kg.namespaces import ID, MT, QK

KZ, DE, PT = (f"{ID}country/{c}" for c in ("KZ", "DE", "PT"))


def rows(client, name, **params):
    response = client.get(f"/queries/{name}.json", query_string=params)
    assert response.status_code == 200, response.data[:300]
    view = response.get_json()
    return [
        {col: (cell["ref"]["iri"] if cell.get("ref") else cell["text"]) for col, cell in zip(view["columns"], row)}
        for row in view["rows"]
    ]


def test_there_are_at_least_twelve_research_queries_each_with_a_page(client):
    names = named_queries.names("research")
    assert len(names) >= 12
    index = client.get("/queries.json").get_json()
    assert [q["name"] for q in index["queries"]] == names
    for name in names:
        query = named_queries.load(name)
        assert query.title and query.description
        page = client.get(f"/queries/{name}", headers={"Accept": "text/html"})
        assert page.status_code == 200 and query.title.encode() in page.data


def test_moratoria(client):
    found = {(r["country"], r["statusLabel"], r["plannedEnd"]) for r in rows(client, "moratoria")}
    assert found == {(KZ, "Introduced", "2020-07-10"), (PT, "Introduced", "")}


def test_releases_without_moratorium(client):
    found = [(r["country"], r["update"]) for r in rows(client, "releases-without-moratorium")]
    assert found == [(PT, f"{ID}update/2020-05-01-fixtureland")]


def test_deportations_despite_closed_borders(client):
    assert [r["country"] for r in rows(client, "deportations-despite-closed-borders")] == [PT]


def test_measures_in_force_on_a_day(client):
    found = {(r["country"], r["typeLabel"]) for r in rows(client, "in-force-on", day="2020-05-15")}
    assert found == {
        (PT, "Release of detainees"), (PT, "Continuation of deportations"), (PT, "Border closure"),
    }
    later = {(r["country"], r["typeLabel"]) for r in rows(client, "in-force-on", day="2020-07-01")}
    assert (PT, "Border closure") not in later  # ended on 30 June
    assert (KZ, "Moratorium on new detention orders") in later  # due to last until 10 July


def test_who_reported_what(client):
    found = {r["typeLabel"]: (r["statements"], r["countries"])
             for r in rows(client, "who-reported-what", body=f"{ID}organisation/international-legal-initiative")}
    assert found["Suspension of visits"] == (2, 1)
    assert found["Release of detainees"] == (2, 2)  # Kazakhstan (none occurred) and Fixtureland
    assert found["Moratorium on new detention orders"] == (2, 2)


def test_contradicting_reports(client):
    found = [(r["country"], r["typeLabel"], r["claimBy"], r["counterBy"]) for r in rows(client, "contradicting-reports")]
    assert found == [(PT, "Moratorium on new detention orders", "Global Detention Project", "International Legal Initiative")]


def test_figures_by_kind(client):
    cases = rows(client, "figures-by-kind", kind=str(QK["confirmed-cases"]))
    assert (KZ, 9) in {(r["country"], r["value"]) for r in cases}
    released = rows(client, "figures-by-kind", kind=str(QK["released-detainees"]))
    assert [(r["country"], r["value"]) for r in released] == [(PT, 120)]


def test_updates_on_a_theme_with_their_cross_references(client):
    found = rows(client, "theme-updates", theme=str(MT["lack-of-firewall"]))
    references = {r["refersTo"] for r in found if r["update"] == f"{ID}update/2020-06-14-kazakhstan"}
    assert references == {f"{ID}update/{s}" for s in ("2020-06-10-germany", "2020-06-02-lebanon", "2020-05-26-south-africa")}
    assert {r["countryName"] for r in found} >= {"Kazakhstan", "Germany", "Lebanon", "South Africa"}


def test_two_countries_side_by_side(client):
    found = {r["typeLabel"]: (r["first"], r["second"]) for r in rows(client, "compare-countries", a=KZ, b=PT)}
    first, second = found["Moratorium on new detention orders"]
    assert first == "Introduced (2020-06-14)"
    assert set(second.split("; ")) == {"Not introduced (2020-05-01)", "Introduced (2020-06-01)"}
    assert found["Social benefit"] == ("Introduced (2020-06-14)", "")
    assert found["Border closure"] == ("Introduced (2020-06-14)", "Introduced (2020-05-01)")


def test_two_countries_the_same_twice_or_one_without_updates(client):
    # The query looks each side's updates up on its own: the same country on both sides must not
    # repeat an entry, and a country without updates leaves its column empty beside the other's.
    same = {r["typeLabel"]: (r["first"], r["second"]) for r in rows(client, "compare-countries", a=KZ, b=KZ)}
    assert same["Moratorium on new detention orders"] == ("Introduced (2020-06-14)", "Introduced (2020-06-14)")
    assert all(first == second for first, second in same.values())
    alone = {r["typeLabel"]: (r["first"], r["second"])
             for r in rows(client, "compare-countries", a=f"{ID}country/FR", b=KZ)}
    assert alone == {label: ("", second) for label, (_, second) in same.items()}


def test_updates_on_a_theme_with_and_without_references(client):
    found = rows(client, "theme-updates", theme=str(MT["lack-of-firewall"]))
    germany = [r for r in found if r["update"] == f"{ID}update/2020-06-10-germany"]
    assert [(r["refersTo"], r["refersToDate"]) for r in germany] == [("", "")]  # once, without a reference
    kazakhstan = [r for r in found if r["update"] == f"{ID}update/2020-06-14-kazakhstan"]
    assert len(kazakhstan) == 3 and all(r["refersTo"] and r["refersToDate"] for r in kazakhstan)


def test_who_reported_what_for_one_body_is_its_share_of_the_whole(client):
    body = f"{ID}organisation/international-legal-initiative"
    key = lambda r: (r["typeLabel"], r["statements"], r["countries"])  # noqa: E731
    whole = sorted(key(r) for r in rows(client, "who-reported-what") if r["body"] == body)
    assert whole and whole == sorted(key(r) for r in rows(client, "who-reported-what", body=body))


def test_negative_facts(client):
    found = {(r["country"], r["typeLabel"], r["statusLabel"]) for r in rows(client, "negative-facts")}
    assert (KZ, "Release of detainees", "None occurred") in found
    assert (PT, "Moratorium on new detention orders", "Not introduced") in found


def test_developments_per_month(client):
    found = {(r["month"], r["typeLabel"]): r["developments"] for r in rows(client, "developments-per-month")}
    assert found[("2020-05", "Release of detainees")] == 1
    assert found[("2020-06", "Suspension of visits")] == 2


def test_statements_to_check(client):
    found = {r["resource"] for r in rows(client, "uncertain-statements")}
    assert f"{ID}measure/2020-05-01-fixtureland-deportations" in found
    assert f"{ID}update/2020-06-02-lebanon" in found


def test_detention_sites(client):
    found = [(r["placeName"], r["typeLabel"]) for r in rows(client, "detention-sites")]
    assert ("Fixture detention centre", "Release of detainees") in found


def test_a_required_parameter_shows_the_form_first(client):
    view = client.get("/queries/in-force-on.json").get_json()
    assert view["ready"] is False and view["rows"] == []
    assert client.get("/queries/in-force-on.csv").status_code == 400
    page = client.get("/queries/figures-by-kind", headers={"Accept": "text/html"}).data.decode()
    assert "<select" in page and "Confirmed Covid-19 cases" in page


def test_downloads_and_permalink(client):
    response = client.get("/queries/negative-facts.csv")
    table = list(csv.reader(io.StringIO(response.data.decode())))
    assert response.mimetype == "text/csv" and table[0][:3] == ["country", "countryName", "typeLabel"]
    tsv = client.get("/queries/negative-facts.tsv")
    assert tsv.mimetype == "text/tab-separated-values" and tsv.data.startswith(b"?country\t")
    page = client.get("/queries/in-force-on?day=2020-05-15", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/queries/in-force-on?day=2020-05-15"' in page and "in-force-on.csv?day=2020-05-15" in page


# -- the comparison matrix ----------------------------------------------------------------------


def matrix_cells_from_sparql(client, **filters) -> dict:
    """Run the matrix's own query through /sparql (parameters bound as VALUES) and key its rows."""
    from kg.sparql import bind_rows

    query = named_queries.load("matrix")
    bound = query.bindings({k: v for k, v in filters.items() if k != "type" and v})
    types = [named_queries.parse_iri(t) for t in filters.get("type", [])] or [None]
    text = bind_rows(query.sparql, ["region", "day", "type"], [[bound.get("region"), bound.get("day"), t] for t in types])
    response = client.get("/sparql", query_string={"query": text}, headers={"Accept": "application/sparql-results+json"})
    result = json.loads(response.data)
    cells = {}
    for b in result["results"]["bindings"]:
        cells[(b["country"]["value"], b["typeLabel"]["value"])] = (
            b["status"]["value"], b["earliest"]["value"], int(b["statements"]["value"]), b["conflicting"]["value"] == "true")
    return cells


def matrix_cells_from_csv(client, **filters) -> dict:
    response = client.get("/matrix.csv", query_string=filters)
    assert response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.data.decode())))
    header, cells = table[0], {}
    pattern = re.compile(r"^(\S+) (\S+) \((\d+) statements?(, conflicting)?\)$")
    for line in table[1:]:
        for column, text in zip(header[2:], line[2:]):
            if text:
                status, earliest, n, conflict = pattern.match(text).groups()
                cells[(line[1], column)] = (status, earliest, int(n), bool(conflict))
    return cells


@pytest.mark.parametrize(
    "filters",
    [{}, {"day": "2020-05-15"}, {"region": f"{ID}region/150"},
     {"type": [str(MT["moratorium-on-detention-orders"]), str(MT["release-of-detainees"])]}],
    ids=["all", "in-force-on-a-day", "europe", "two-types"],
)
def test_matrix_csv_equals_what_its_sparql_query_gives(client, filters):
    expected = matrix_cells_from_sparql(client, **filters)
    assert expected, "the fixture should give the matrix something to show"
    assert matrix_cells_from_csv(client, **filters) == expected


def test_matrix_cells_status_conflict_and_links(client):
    view = client.get("/matrix.json").get_json()
    row = next(r for r in view["rows"] if r["country"]["iri"] == PT)
    moratorium = row["cells"][str(MT["moratorium-on-detention-orders"])]
    assert moratorium["status"] == "introduced" and moratorium["conflicting"] is True
    assert moratorium["earliest"] == "2020-05-01"
    assert {s["href"] for s in moratorium["statements"]} == {
        "/id/measure/2020-05-01-fixtureland-no-moratorium", "/id/measure/2020-06-01-fixtureland-moratorium"}
    kz = next(r for r in view["rows"] if r["country"]["iri"] == KZ)
    assert kz["cells"][str(MT["release-of-detainees"])]["status"] == "not-introduced"


def test_matrix_filters_and_sorting(client):
    europe = client.get("/matrix.json", query_string={"region": f"{ID}region/150"}).get_json()
    assert {r["country"]["label"] for r in europe["rows"]} == {"Germany", "Portugal", "Sweden"}
    by_count = client.get("/matrix.json", query_string={"sort": "measures"}).get_json()
    counts = [r["measures"] for r in by_count["rows"]]
    assert counts == sorted(counts, reverse=True)
    page = client.get("/matrix?day=2020-05-15&sort=region", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/matrix?day=2020-05-15&amp;sort=region"' in page  # the permalink keeps the filters
    assert "matrix.csv?day=2020-05-15" in page


# -- pictures: the map and the timelines on the pages ------------------------------------------


def svg_root(text: str):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox")
    return root


def test_map_svg_colours_each_country_by_its_status(client):
    response = client.get("/map.svg", query_string={"type": str(MT["moratorium-on-detention-orders"])})
    assert response.mimetype == "image/svg+xml"
    root = svg_root(response.data.decode())
    ns = "{http://www.w3.org/2000/svg}"
    paths = {p.get("data-code"): p.get("class") for p in root.iter(f"{ns}path") if p.get("data-code")}
    assert "status-introduced" in paths["KZ"] and "status-introduced" in paths["PT"]
    assert "no-data" in paths["DE"]
    assert len([p for p in root.iter(f"{ns}path") if "country" in (p.get("class") or "")]) >= 170
    page = client.get("/map", query_string={"type": str(MT["release-of-detainees"])}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"<svg" in page.data


def test_country_and_measure_type_pages_draw_their_timelines(client):
    import re

    country = client.get("/id/country/KZ", headers={"Accept": "text/html"}).data.decode()
    timeline = re.search(r"<svg.*?</svg>", country, re.S).group(0)
    svg_root(timeline)
    developments = client.get("/id/country/KZ.json").get_json()["sections"]["timeline"]
    assert timeline.count('<g class="event') == len(developments)
    measure = client.get("/def/measure-type/release-of-detainees", headers={"Accept": "text/html"}).data.decode()
    pictures = re.findall(r"<svg.*?</svg>", measure, re.S)
    assert len(pictures) == 2  # the map and the timeline
    reports = client.get("/def/measure-type/release-of-detainees.json").get_json()["sections"]["reports"]
    assert pictures[1].count('<g class="event') == len(reports)


# -- the comparison matrix on Virtuoso ----------------------------------------------------------

MATRIX_FILTERS = [{}, {"day": "2020-05-15"}, {"region": f"{ID}region/150"},
                  {"type": [str(MT["moratorium-on-detention-orders"]), str(MT["release-of-detainees"])]}]
MATRIX_FILTER_IDS = ["all", "in-force-on-a-day", "europe", "two-types"]


@pytest.fixture(scope="module")
def virtuoso_app(virtuoso):
    """The app over the session's Virtuoso, holding the same files as the embedded web_store."""
    from conftest import WEB_FILES

    from kg.load import Loader
    from kg.web import create_app

    virtuoso.clear()
    store = virtuoso.store()
    Loader(store).load(WEB_FILES)
    store.close()
    app = create_app({"KG_SPARQL_QUERY": virtuoso.query_url, "TESTING": True})
    yield app
    if app.extensions.get("kg_runner") is not None:
        app.extensions["kg_runner"].close()


def matrix_rows(result_rows) -> list:
    """Rows of the matrix query, in order, as comparable tuples (GROUP_CONCAT's order is the engine's)."""
    return [(str(r["country"]), str(r["countryName"]), str(r["type"]), str(r["typeLabel"]), str(r["status"]),
             r["conflicting"].toPython(), str(r["earliest"]), int(r["statements"]),
             sorted(str(r["developments"]).split())) for r in result_rows]


@pytest.mark.parametrize("filters", MATRIX_FILTERS, ids=MATRIX_FILTER_IDS)
def test_the_matrix_query_on_virtuoso_gives_the_embedded_answer(virtuoso, virtuoso_app, web_store, filters):
    """matrix.rq, bound as the /matrix page binds it, answers the same rows on Virtuoso 7.2 as on
    embedded Oxigraph (it once failed there with "SQ156 Bad dfe in sqlo_place_exp")."""
    from kg.sparql import bind_rows
    from kg.store import EmbeddedStore

    query = named_queries.load("matrix")
    bound = query.bindings({k: v for k, v in filters.items() if k != "type" and v})
    types = [named_queries.parse_iri(t) for t in filters.get("type", [])] or [None]
    text = bind_rows(query.sparql, ["region", "day", "type"], [[bound.get("region"), bound.get("day"), t] for t in types])
    embedded = EmbeddedStore(web_store, read_only=True)
    try:
        expected = matrix_rows(embedded.query(text).rows)
    finally:
        embedded.close()
    assert expected, "the fixture should give the matrix something to show"
    store = virtuoso.store()
    assert matrix_rows(store.query(text).rows) == expected
    assert store.is_virtuoso


@pytest.mark.parametrize("filters", MATRIX_FILTERS, ids=MATRIX_FILTER_IDS)
def test_the_matrix_page_on_virtuoso_equals_the_embedded_one(client, virtuoso_app, filters):
    on_virtuoso = virtuoso_app.test_client()
    assert matrix_cells_from_csv(on_virtuoso, **filters) == matrix_cells_from_csv(client, **filters)
    assert matrix_cells_from_sparql(on_virtuoso, **filters) == matrix_cells_from_sparql(client, **filters)

    def rows(app_client):  # each cell's statements in the engine's GROUP_CONCAT order: compared as sets
        found = app_client.get("/matrix.json", query_string=filters).get_json()["rows"]
        for row in found:
            for cell in row["cells"].values():
                cell["statements"] = sorted(cell["statements"], key=lambda s: s["iri"])
        return found

    assert rows(on_virtuoso) == rows(client)


@pytest.mark.parametrize("country", ["KZ", "PT"])
def test_a_country_page_on_virtuoso_lists_what_the_embedded_one_lists(virtuoso, virtuoso_app, web_store, country):
    """country-related.rq once failed on Virtuoso 7.2 ("SP031"), so the country page answered 503."""
    from kg.sparql import bind
    from kg.store import EmbeddedStore

    text = bind(named_queries.load("country-related").sparql, {"country": named_queries.parse_iri(f"country:{country}")})
    embedded = EmbeddedStore(web_store, read_only=True)
    try:
        expected = [tuple(map(str, (r["resource"], r["kind"]))) for r in embedded.query(text).rows]
    finally:
        embedded.close()
    assert expected, "the fixture should name groups, places or borders for this country"
    assert [tuple(map(str, (r["resource"], r["kind"]))) for r in virtuoso.store().query(text).rows] == expected
    page = virtuoso_app.test_client().get(f"/id/country/{country}")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
