"""Every page type, its .json twin built from the same view data, labels for IRIs, and escaping."""

from __future__ import annotations

import re

import pytest

from kg.namespaces import ID

HOSTILE = ("<script>window.__xss", "<img src=x onerror", "<b onmouseover")


def html(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, path
    assert response.mimetype == "text/html"
    return response.data.decode()


def twin(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/json", path
    return response.get_json()


def test_home_has_counts_latest_updates_and_a_search_box(client):
    page = html(client, "/")
    assert 'name="q"' in page and "Latest updates" in page
    data = twin(client, "/index.json")
    assert data["counts"]["updates"] == 7
    assert [row["update"]["label"] for row in data["latest"]][:2] == [
        "Testland <script>window.__xss=1</script>, 5 July 2020", "Kazakhstan, 14 June 2020"]
    assert 'href="/index.json"' in page


def test_countries_index_with_region_filter(client):
    data = twin(client, "/countries.json")
    codes = [c["code"] for c in data["countries"]]
    assert sorted(codes) == ["DE", "KZ", "LB", "PT", "SE", "ZA"]
    kz = next(c for c in data["countries"] if c["code"] == "KZ")
    assert (kz["updates"], kz["subregion"]["label"], kz["country"]["href"]) == (1, "Central Asia", "/id/country/KZ")
    asia = twin(client, "/countries.json?region=region:142")
    assert sorted(c["code"] for c in asia["countries"]) == ["KZ", "LB"]
    page = html(client, "/countries?region=region:142")
    assert "Kazakhstan" in page and "Germany" not in page.split("<table>")[1]


def test_country_page_timeline_figures_borders_and_groups(client):
    data = twin(client, "/id/country/KZ.json")
    sections = data["sections"]
    assert data["kind"] == "country" and data["resource"]["label"] == "Kazakhstan"
    assert [u["update"]["label"] for u in sections["updates"]] == ["Kazakhstan, 14 June 2020"]
    types = {d["type"]["label"]: d["status"]["label"] for d in sections["timeline"]}
    assert types["Moratorium on new detention orders"] == "Introduced"
    assert types["Release of detainees"] == "None occurred"
    assert any(f["value"] == 9 and f["kind"]["label"] == "Confirmed Covid-19 cases" for f in sections["figures"])
    assert [b["label"] for b in sections["borders"]] == ["Kazakhstan–Uzbekistan border"]
    assert "Migrants in Kazakhstan" in {g["label"] for g in sections["groups"]}
    page = html(client, "/id/country/KZ")
    assert "Timeline of measures and developments" in page and "None occurred" in page


def test_update_page_measures_figures_actors_sources_and_cross_references(client):
    data = twin(client, "/id/update/2020-06-14-kazakhstan.json")
    s = data["sections"]
    assert data["kind"] == "update" and s["date"] == "2020-06-14" and s["country"]["label"] == "Kazakhstan"
    moratorium = next(d for d in s["developments"] if d["type"]["label"] == "Moratorium on new detention orders")
    assert moratorium["planned_end"] == "2020-07-10" and moratorium["sources"][0]["label"] == "International Legal Initiative"
    assert moratorium["channel"]["label"] == "Submitted to the GDP" and "other offences" in moratorium["exception"]
    assert {f["label"] for f in s["figures"]} >= {"more than 230 Tajik migrants", "100.42 USD per month"}
    assert "Central Asian Bureau for Analytical Reporting" in {o["label"] for o in s["organisations"]}
    assert "Government of Kazakhstan" in {a["label"] for a in s["authorities"]}
    assert {x["update"]["label"] for x in s["cross_references"] if x["direction"] == "to"} == {
        "Germany, 10 June 2020", "Lebanon, 2 June 2020", "South Africa, 26 May 2020"}
    assert s["sources"][0]["label"].startswith("Застрявших")
    germany = twin(client, "/id/update/2020-06-10-germany.json")["sections"]
    assert [(x["direction"], x["update"]["label"]) for x in germany["cross_references"]] == [
        ("from", "Kazakhstan, 14 June 2020")]


def test_measure_type_page_lists_the_countries_that_reported_it(client):
    data = twin(client, "/def/measure-type/lack-of-firewall.json")
    countries = {r["country"]["label"] for r in data["sections"]["reports"]}
    assert {"Kazakhstan", "Germany", "Lebanon", "South Africa"} <= countries
    assert data["sections"]["country_count"] == len(countries)
    assert "Reported in" in html(client, "/def/measure-type/lack-of-firewall")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/id/group/kz-stranded-tajik-migrants-2020", "Migrants stranded"),
        ("/id/place/kz-almaty", "Confirmed Covid-19 cases"),
        ("/id/border/KZ-UZ", "Border closure"),
        ("/id/authority/kz-government", "Moratorium on new detention orders"),
        ("/id/organisation/international-legal-initiative", "Release of detainees"),
    ],
)
def test_groups_places_borders_authorities_and_organisations(client, path, expected):
    data = twin(client, path + ".json")
    assert data["kind"] == "involved"
    assert expected in {d["type"]["label"] for d in data["sections"]["developments"]}
    assert expected in html(client, path)


def test_generic_page_for_any_other_resource(client):
    data = twin(client, "/id/figure/2020-06-14-kazakhstan-cases-almaty.json")
    assert data["kind"] == "resource" and data["resource"]["label"] == "nine detainees confirmed to have the virus in Almaty"
    labels = {p["property"]["label"] for p in data["properties"]}
    assert {"counts", "quantity kind", "reported in"} <= labels


def test_labels_are_shown_instead_of_iris(client):
    page = html(client, "/id/update/2020-06-14-kazakhstan")
    assert ">International Legal Initiative</a>" in page
    assert ">Release of detainees</a>" in page
    linked = re.findall(r">(https://w3id\.org/[^<]+)</a>", page)
    assert linked == [], f"raw IRIs shown as link text: {linked[:5]}"


def test_search_over_labels_and_text(client):
    data = twin(client, "/search.json?q=moratorium")
    found = {h["resource"]["iri"] for h in data["results"]}
    assert f"{ID}measure/2020-06-14-kazakhstan-detention-moratorium" in found
    assert data["results"][0]["class"]["label"] in ("Update", "Measure", "Incident")
    assert "Moratorium on new detention orders" in html(client, "/search?q=Moratorium")
    assert twin(client, "/search.json?q=")["results"] == []


def test_search_text_is_bound_not_spliced(client):
    for hostile in ['") } ; DROP ALL ; #', "\\", '"""', "'; SELECT * WHERE {?s ?p ?o} #"]:
        response = client.get("/search.json", query_string={"q": hostile})
        assert response.status_code == 200 and response.get_json()["results"] == []


def test_every_literal_is_escaped(client):
    for path in ("/", "/id/update/2020-07-05-testland", "/id/country/SE", "/search?q=Testland",
                 "/id/measure/2020-07-05-testland-visits", "/def/measure-type/suspension-of-visits"):
        page = html(client, path)
        for payload in HOSTILE:
            assert payload not in page, (path, payload)
    page = html(client, "/id/update/2020-07-05-testland")
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    assert 'href="javascript:' not in page


def test_json_ld_block_cannot_close_its_script_element(client):
    page = html(client, "/id/update/2020-07-05-testland")
    start = page.index('<script type="application/ld+json">')
    block = page[start : page.index("</script>", start + 10)]
    assert "<script>" not in block[10:] and "\\u003cscript\\u003e" in block


def test_security_headers(client):
    response = client.get("/", headers={"Accept": "text/html"})
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_country_with_many_updates_is_paginated(client, monkeypatch):
    from kg import views

    whole = twin(client, "/id/country/PT.json")
    assert [u["update"]["label"] for u in whole["sections"]["updates"]] == ["Fixtureland, 1 June 2020", "Fixtureland, 1 May 2020"]
    assert whole["pagination"]["pages"] == 1
    monkeypatch.setattr(views, "COUNTRY_PAGE_SIZE", 1)  # two updates, so two pages (a fresh app: nothing cached)
    client.application.extensions.pop("kg_response_cache", None)
    pages = [twin(client, "/id/country/PT.json"), twin(client, "/id/country/PT.json?page=2")]
    assert [p["pagination"]["page"] for p in pages] == [1, 2] and pages[0]["pagination"]["older"] == 2
    newest_first = [(u["update"]["label"], u["update"]["iri"]) for u in whole["sections"]["updates"]]
    for data, (label, iri) in zip(pages, newest_first):
        sections = data["sections"]
        assert [u["update"]["label"] for u in sections["updates"]] == [label]
        assert sections["timeline"] and {d["update"]["iri"] for d in sections["timeline"]} == {iri}
        assert {f["update"]["iri"] for f in sections["figures"]} <= {iri}
    timeline = [d["development"]["iri"] for p in pages for d in p["sections"]["timeline"]]
    assert sorted(timeline) == sorted(d["development"]["iri"] for d in whole["sections"]["timeline"])
    page = html(client, "/id/country/PT?page=2")
    assert 'href="/id/country/PT" rel="prev"' in page and 'href="/id/country/PT.json?page=2"' in page
    assert "Updates 2–2 of 2" in page
    for bad in ("3", "0", "x"):
        assert client.get(f"/id/country/PT?page={bad}", headers={"Accept": "text/html"}).status_code == 404
