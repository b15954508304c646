"""The server-drawn pictures: valid SVG, one element per event or country, escaped text, safe
links, and a world map drawn from the shipped geometry without network access."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import xml.etree.ElementTree as ET

import pytest
from rdflib import Graph

from kg import svg
from kg.namespaces import KG

from conftest import ROOT

NS = "{http://www.w3.org/2000/svg}"
GEO = ROOT / "data" / "geo"
EVIL = 'No releases <script>alert("x")</script> & co'


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == NS + "svg"
    box = root.get("viewBox")
    assert box and len(box.split()) == 4 and all(float(v) >= 0 for v in box.split())
    assert float(box.split()[2]) > 0 and float(box.split()[3]) > 0
    assert root.find(NS + "title") is not None, "the picture has an accessible name"
    return root


def classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def events(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if "event" in classes(el)]


def no_scripts(root: ET.Element) -> None:
    tags = {el.tag.split("}")[-1].lower() for el in root.iter()}
    assert "script" not in tags and "foreignObject".lower() not in tags
    for el in root.iter():
        assert not any(name.lower().startswith("on") for name in el.attrib), el.attrib


def links(root: ET.Element) -> list[str]:
    return [a.get("href") for a in root.iter(NS + "a")]


def titles(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(NS + "title")]


def parent_map(root: ET.Element) -> dict:
    return {child: parent for parent in root.iter() for child in parent}


COUNTRY_EVENTS = [
    {"iri": "https://w3id.org/detention-kg/id/measure/m1", "date": "2020-04-01", "begin": "2020-03-17",
     "planned_end": "2020-06-30", "label": "Moratorium on new detention orders", "type_label": "Moratorium",
     "status_label": "Introduced", "negative": False, "href": "/id/measure/m1"},
    {"iri": "https://w3id.org/detention-kg/id/measure/m2", "date": "2020-05-12", "begin": "2020-03-20",
     "end": "2020-05-10", "label": "Visits suspended", "type_label": "Suspension of visits",
     "status_label": "Ended", "href": "https://example.org/visits"},
    {"iri": "https://w3id.org/detention-kg/id/measure/m3", "date": "2020-04-20", "label": EVIL,
     "type_label": "Releases & <b>", "status_label": "None occurred", "negative": True, "href": "javascript:alert(1)"},
    {"iri": "https://w3id.org/detention-kg/id/measure/m4", "date": "2020-06-10", "begin": "2020-06-01",
     "label": "Release of 300 detainees", "type_label": "Releases & <b>", "status_label": "Partial",
     "href": "//evil.example/x"},
    {"iri": "https://w3id.org/detention-kg/id/measure/m5", "date": "2020-03-25", "planned_end": "2020-04",
     "label": "Deportations halted", "type_label": "Halt of deportations", "status_label": "Announced"},
    {"date": "2020-07", "label": "Month only", "type_label": "Testing", "status_label": "De facto"},
    {"date": "not a date", "label": "Undated \x00 control", "type_label": "Testing", "status_label": "Reported"},
]


def test_country_timeline_one_element_per_event_and_valid_svg():
    out = svg.country_timeline(COUNTRY_EVENTS, title="Kazakhstan & <neighbours>")
    root = parse(out)
    assert len(events(root)) == len(COUNTRY_EVENTS)
    assert root.find(NS + "title").text == "Kazakhstan & <neighbours>"
    iris = [el.get("data-iri") for el in events(root)]
    assert [i for i in iris if i] == [e["iri"] for e in COUNTRY_EVENTS if "iri" in e]
    # one row per measure type, in order of first appearance, labels round-trip
    rows = [el for el in root.iter(NS + "g") if "row" in classes(el)]
    assert [next(r.iter(NS + "title")).text for r in rows] == [
        "Moratorium", "Suspension of visits", "Releases & <b>", "Halt of deportations", "Testing",
    ]
    # month ticks on the date axis, March to July 2020
    axis = next(el for el in root.iter(NS + "g") if "axis" in classes(el))
    labels = [t.text for t in axis.iter(NS + "text")]
    assert labels[0] == "Mar 2020" and "Jul" in labels


def test_timeline_marks_follow_the_dates():
    root = parse(svg.country_timeline(COUNTRY_EVENTS))
    by_iri = {el.get("data-iri"): el for el in events(root)}
    moratorium = by_iri[COUNTRY_EVENTS[0]["iri"]]
    assert moratorium.find(NS + "rect[@class='planned']") is not None, "planned part dashed"
    assert moratorium.find(NS + "rect[@class='planned']").get("stroke-dasharray")
    solid = [r for r in moratorium.findall(NS + "rect") if r.get("class") != "planned"]
    assert len(solid) == 1, "in force from begin to the update's date"
    visits = by_iri[COUNTRY_EVENTS[1]["iri"]]
    assert visits.find(NS + "rect") is not None and visits.find(NS + "rect[@class='planned']") is None
    released = by_iri[COUNTRY_EVENTS[2]["iri"]]
    assert released.find(NS + "circle") is not None and released.find(NS + "rect") is None, "a dot at its date"
    # negative statuses are coloured apart from the positive ones
    fills = {el.get("data-iri"): {s.get("fill") for s in el if s.get("fill") not in (None, "#fff")} for el in events(root)}
    negative = fills[COUNTRY_EVENTS[2]["iri"]]
    assert "negative" in classes(released) and "status-none-occurred" in classes(released)
    assert negative and not negative & (fills[COUNTRY_EVENTS[0]["iri"]] | fills[COUNTRY_EVENTS[3]["iri"]])
    assert "status-introduced" in classes(moratorium) and "negative" not in classes(moratorium)
    undated = [el for el in events(root) if "undated" in classes(el)]
    assert len(undated) == 1
    # a legend naming each status used
    legend = next(el for el in root.iter(NS + "g") if "legend" in classes(el))
    words = {t.text for t in legend.iter(NS + "text")}
    assert {"Introduced", "Ended", "None occurred", "Partial", "Announced", "De facto", "Reported", "Planned"} <= words


def test_timeline_labels_are_escaped_and_links_safe():
    out = svg.country_timeline(COUNTRY_EVENTS)
    assert "<script" not in out and "<b>" not in out
    root = parse(out)
    no_scripts(root)
    assert any(EVIL in t for t in titles(root)), "the label round-trips as text"
    assert "Releases & <b>" in titles(root)
    assert any("Undated  control" in t for t in titles(root)), "characters XML cannot hold are dropped"
    # only http(s) and site-relative links survive; javascript: and //host are not links
    assert links(root) == ["/id/measure/m1", "https://example.org/visits"]
    parents = parent_map(root)
    by_iri = {el.get("data-iri"): el for el in events(root)}
    assert parents[by_iri[COUNTRY_EVENTS[0]["iri"]]].tag == NS + "a"
    assert parents[by_iri[COUNTRY_EVENTS[2]["iri"]]].tag != NS + "a"
    assert parents[by_iri[COUNTRY_EVENTS[3]["iri"]]].tag != NS + "a"


def test_timeline_window_leaves_out_events_outside_it():
    root = parse(svg.country_timeline(COUNTRY_EVENTS, start="2020-04-15", end="2020-05-31"))
    shown = {el.get("data-iri") for el in events(root)}
    # m5 (25 March, planned to end in April) overlaps; m4 (from 1 June) and the July event
    # lie outside; the undated one is shown at the start of the axis
    assert shown == {COUNTRY_EVENTS[i]["iri"] for i in (0, 1, 2, 4)} | {None}
    assert len(events(root)) == 5


def test_measure_timeline_one_row_per_country_one_element_per_event():
    rows = [
        dict(e, country_label=country, country_href=f"/id/country/{code}")
        for e, (country, code) in zip(
            COUNTRY_EVENTS,
            [("Kazakhstan", "KZ"), ("Italy", "IT"), ("Greece <&>", "GR"), ("Italy", "IT"), ("Canada", "CA"),
             ("Japan", "JP"), ("Japan", "JP")],
            strict=True,
        )
    ]
    out = svg.measure_timeline(rows, title="Moratoria")
    root = parse(out)
    no_scripts(root)
    assert len(events(root)) == len(rows)
    row_groups = [el for el in root.iter(NS + "g") if "row" in classes(el)]
    assert [next(r.iter(NS + "title")).text for r in row_groups] == ["Kazakhstan", "Italy", "Greece <&>", "Canada", "Japan"]
    assert "/id/country/GR" in links(root) and "<&>" not in out


@pytest.mark.parametrize("fn", [svg.country_timeline, svg.measure_timeline])
def test_empty_timelines_are_valid(fn):
    root = parse(fn([]))
    assert events(root) == []


def test_long_timelines_label_fewer_months():
    many = [{"date": f"{2020 + i // 12}-{i % 12 + 1:02d}-15", "type_label": f"T{i % 3}", "status_label": "Reported"} for i in range(48)]
    root = parse(svg.country_timeline(many))
    assert len(events(root)) == 48
    axis = next(el for el in root.iter(NS + "g") if "axis" in classes(el))
    assert len(axis.findall(NS + "line")) == 48 + 1, "a tick each month, and the axis line"
    assert 4 <= len(axis.findall(NS + "text")) <= 16


# -- world map -----------------------------------------------------------------------------------


def geometry_codes() -> list[str | None]:
    """The alpha-2 code of each geometry in the shipped file, looked up independently."""
    graph = Graph().parse(ROOT / "data" / "reference" / "countries.ttl")
    numeric = {str(n): str(graph.value(c, KG.iso3166Alpha2)) for c, n in graph.subject_objects(KG.iso3166Numeric)}
    topology = json.loads((GEO / "countries-110m.json").read_text())
    return [numeric.get(g.get("id")) for g in topology["objects"]["countries"]["geometries"]]


def country_paths(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter(NS + "path") if "country" in classes(el)]


STATUSES = {
    "KZ": {"status": "introduced", "label": "Kazakhstan", "href": "/id/country/KZ", "note": "since 2020-03-20"},
    "de": {"status": "not_introduced", "label": "Germany <script>alert(1)</script> & co", "href": "javascript:alert(1)"},
    "US": {"status": "reported", "href": "https://example.org/us"},
    "BR": {"status": "partial", "status_label": "Partly"},
    "MT": {"status": "introduced", "href": "/id/country/MT"},  # too small for 1:110m: a dot
    "ZZ": {"status": "introduced", "href": "/id/country/ZZ"},  # no such code
    "XK": {"status": "introduced"},  # Kosovo: no ISO code in the reference data
    "FR": {"status": "https://w3id.org/detention-kg/def/status/none-occurred"},
    "IT": {"status": "something-new"},
    "ES": {"status": "odd", "status_label": "{x} {0} braces"},
}


def test_world_map_one_path_per_country_of_the_geometry():
    root = parse(svg.world_map(STATUSES))
    paths = country_paths(root)
    codes = geometry_codes()
    assert len(paths) == len(codes) == 177
    assert [p.get("data-code") for p in paths] == codes
    assert sum(c is None for c in codes) == 3, "N. Cyprus, Somaliland, Kosovo have no ISO code"
    assert svg.map_countries() and [c["code"] for c in svg.map_countries()] == codes
    for p in paths:
        assert re.fullmatch(r"(M-?\d+ -?\d+l[-\d ]+z)+", p.get("d")), p.get("d")[:80]
        assert p.find(NS + "title") is not None


def test_world_map_fills_by_status():
    root = parse(svg.world_map(STATUSES))
    by_code = {p.get("data-code"): p for p in country_paths(root)}
    assert "status-introduced" in classes(by_code["KZ"]) and by_code["KZ"].get("fill") == svg.STATUS_COLOURS["introduced"]
    assert "status-not-introduced" in classes(by_code["DE"]) and by_code["DE"].get("fill") == svg.STATUS_COLOURS["not-introduced"]
    assert "status-reported" in classes(by_code["US"])
    assert "status-partial" in classes(by_code["BR"])
    assert "status-none-occurred" in classes(by_code["FR"]), "a status IRI works too"
    assert "status-something-new" in classes(by_code["IT"])
    assert by_code["IT"].get("fill") not in set(svg.STATUS_COLOURS.values()) | {svg.NO_DATA}
    assert "no-data" in classes(by_code["CN"]) and by_code["CN"].get("fill") == svg.NO_DATA
    for code, p in by_code.items():
        if code not in {"KZ", "DE", "US", "BR", "FR", "IT", "ES"}:
            assert "no-data" in classes(p), code
    # titles name the country and the status
    assert by_code["KZ"].find(NS + "title").text == "Kazakhstan: Introduced (since 2020-03-20)"
    assert by_code["BR"].find(NS + "title").text == "Brazil: Partly"
    assert by_code["CN"].find(NS + "title").text == "China: no data"
    # legend: the statuses used, then "No data"
    legend = next(el for el in root.iter(NS + "g") if "legend" in classes(el))
    words = [t.text for t in legend.iter(NS + "text")]
    assert words[-1] == "No data"
    assert {"Introduced", "Not introduced", "Reported", "Partly", "None occurred", "Something new", "{x} {0} braces"} == set(words[:-1])


def test_world_map_ignores_unknown_codes_and_escapes():
    out = svg.world_map(STATUSES)
    root = parse(out)
    no_scripts(root)
    assert "<script" not in out
    codes = {el.get("data-code") for el in root.iter() if el.get("data-code")}
    assert "ZZ" not in codes and "XK" not in codes and "/id/country/ZZ" not in out
    by_code = {p.get("data-code"): p for p in country_paths(root)}
    assert by_code["DE"].find(NS + "title").text == "Germany <script>alert(1)</script> & co: Not introduced"
    # links: safe ones kept, javascript: dropped
    assert set(links(root)) == {"/id/country/KZ", "https://example.org/us", "/id/country/MT"}
    parents = parent_map(root)
    assert parents[by_code["KZ"]].tag == NS + "a" and parents[by_code["DE"]].tag != NS + "a"
    # a country too small for 1:110m shows as a dot when it has a status
    dots = [el for el in root.iter(NS + "circle") if "country-point" in classes(el)]
    assert [d.get("data-code") for d in dots] == ["MT"] and "status-introduced" in classes(dots[0])
    # no statuses at all: still every country, all grey
    empty = parse(svg.world_map({}))
    assert len(country_paths(empty)) == 177 and all("no-data" in classes(p) for p in country_paths(empty))
    assert not list(empty.iter(NS + "circle"))


def test_world_map_crosses_no_antimeridian_and_is_small():
    out = svg.world_map(STATUSES)
    root = parse(out)
    width = svg.world_geometry().width
    for p in country_paths(root):
        for sub in re.findall(r"M(-?\d+) (-?\d+)l([-\d ]+)z", p.get("d")):
            deltas = [int(v) for v in re.findall(r"-?\d+", sub[2])]
            assert max(abs(v) for v in deltas[0::2]) < width / 4, (p.get("data-code"), "a jump across the map")
    assert len(out.encode()) < 80_000


def test_world_map_loads_without_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the map must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    svg.world_geometry.cache_clear()
    svg.reference_countries.cache_clear()
    try:
        root = parse(svg.world_map({"KZ": {"status": "introduced"}}))
    finally:
        svg.world_geometry.cache_clear()
        svg.reference_countries.cache_clear()
    assert len(country_paths(root)) == 177


def test_geometry_is_the_packaged_file_with_its_licence():
    readme = (GEO / "README.md").read_text()
    digest = hashlib.sha256((GEO / "countries-110m.json").read_bytes()).hexdigest()
    assert digest in readme, "README states the sha256 of the shipped file"
    for words in ("world-atlas", "2.0.2", "Natural Earth", "public domain", "ISC", "LICENSE-world-atlas"):
        assert words in readme
    assert "Permission to use, copy, modify" in (GEO / "LICENSE-world-atlas").read_text()
    small = json.loads((GEO / "small-countries.json").read_text())
    assert {"id", "name", "lon", "lat"} <= set(small["countries"][0])


# -- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("href", "ok"),
    [
        ("/id/country/KZ", True),
        ("/", True),
        ("https://example.org/a?b=1&c=2", True),
        ("HTTP://example.org", True),
        ("//evil.example/x", False),
        ("/\\evil.example", False),
        ("javascript:alert(1)", False),
        (" /id/x", False),
        ("/id/x\nfoo", False),
        ("data:text/html,x", False),
        ("id/country/KZ", False),
        (None, False),
    ],
)
def test_safe_href(href, ok):
    assert svg.safe_href(href) == (href if ok else None)


def test_parse_date_and_status_slug():
    import datetime as dt

    assert svg.parse_date("2020-04-03") == dt.date(2020, 4, 3)
    assert svg.parse_date("2020-04-03T10:00:00Z") == dt.date(2020, 4, 3)
    assert svg.parse_date("2020-02") == dt.date(2020, 2, 1)
    assert svg.parse_date("2020-02", last=True) == dt.date(2020, 2, 29)
    assert svg.parse_date("2020", last=True) == dt.date(2020, 12, 31)
    assert svg.parse_date("2020-13-01") is None and svg.parse_date("soon") is None and svg.parse_date(None) is None
    assert svg.status_slug("not_introduced") == svg.status_slug("Not introduced") == "not-introduced"
    assert svg.status_slug("https://w3id.org/detention-kg/def/status/de-facto") == "de-facto"
    assert svg.status_slug('x" onload="y') == "x-onload-y"
