"""View data for every page: plain dicts built from named queries, rendered as HTML or served as JSON.

Each function takes the query runner and returns JSON-serialisable data only (strings, numbers,
booleans, lists, dicts), so a page and its `.json` twin are the same data. Resources appear as
``{"iri", "label", "href"}``: the label from the store (or the compact IRI when there is none)
and a link to its page on this site (resources under the data's base) or outside (other http(s)).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from collections.abc import Iterable

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF

from . import named_queries
from .errors import KGError
from .namespaces import BASE, KG
from .results import compact
from .runner import QueryRunner
from .sparql import bind_rows, is_safe_iri

#: Classes that have a page section of their own, by the view that handles them.
SPECIAL = {KG.Country: "country", KG.Update: "update", KG.MeasureType: "measure_type"}
INVOLVED = {KG.MigrantGroup, KG.Place, KG.Border, KG.Authority, KG.Organisation, KG.Region}
#: Updates per page of a country (newest first); the page's timeline and figures are those of its
#: updates. A country with hundreds of updates made one page of almost 1 MB.
COUNTRY_PAGE_SIZE = 50


class PageNotFound(KGError):
    """A page number past the end of a paginated resource (HTTP 404)."""

    status = 404


def local_path(iri: str) -> str | None:
    """The path of this site that serves IRI (those under the data's base), else None."""
    return "/" + iri[len(BASE) :] if iri.startswith(BASE) else None


def run(runner: QueryRunner, name: str, **params) -> list[dict]:
    """Rows of a named query (cached until the store changes), parameters bound as terms."""
    query = named_queries.load(name)
    return runner.run(query.sparql, query.bindings(params) if params else None, cached=True).rows


def run_terms(runner: QueryRunner, name: str, **terms) -> list[dict]:
    """Rows of a named query with parameters that are already RDF terms."""
    return runner.run(named_queries.load(name).sparql, terms, cached=True).rows


class Labeller:
    """Collects IRIs while a view is built, then fetches all their labels in one query."""

    def __init__(self, runner: QueryRunner):
        self.runner = runner
        self.pending: set[str] = set()
        self.labels: dict[str, str] = {}

    def ref(self, term) -> dict | None:
        """A placeholder for a resource; filled with its label by resolve()."""
        if term is None:
            return None
        if isinstance(term, BNode):
            return {"iri": None, "label": "(blank node)", "href": None}
        iri = str(term)
        self.pending.add(iri)
        return {"iri": iri, "label": None, "href": local_path(iri) or (iri if iri.startswith(("http://", "https://")) else None)}

    def resolve(self, view):
        wanted = sorted(i for i in self.pending - set(self.labels) if is_safe_iri(i))
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            query = bind_rows(named_queries.load("labels").sparql, ["s"], [[URIRef(i)] for i in chunk])
            for row in self.runner.run(query, cached=True).rows:
                self.labels.setdefault(str(row["s"]), str(row["label"]))
        self._fill(view)
        return view

    def _fill(self, node):
        if isinstance(node, dict):
            if "iri" in node and "label" in node and node["label"] is None:
                node["label"] = self.labels.get(node["iri"]) or compact(URIRef(node["iri"]))
            for value in node.values():
                self._fill(value)
        elif isinstance(node, list):
            for value in node:
                self._fill(value)


def value(term):
    """A literal as a JSON value (numbers and booleans typed), other terms as text."""
    if term is None:
        return None
    if isinstance(term, Literal):
        python = term.toPython()
        if isinstance(python, bool | int | float):
            return python
        if isinstance(python, Decimal):
            return float(python)
        return str(term)
    return str(term)


def literal_view(term) -> dict:
    out = {"value": str(term)}
    if isinstance(term, Literal):
        if term.language:
            out["lang"] = term.language
        elif term.datatype is not None:
            out["datatype"] = compact(term.datatype)
    return out


# -- pages --------------------------------------------------------------------------------------


def home(runner: QueryRunner) -> dict:
    labeller = Labeller(runner)
    counts = run(runner, "counts")[0]
    latest = [
        {"update": labeller.ref(r["update"]), "date": value(r["date"]), "country": labeller.ref(r["country"])}
        for r in run(runner, "latest-updates")
    ]
    return labeller.resolve({
        "title": "Immigration detention knowledge graph",
        "counts": {k: value(v) for k, v in counts.items()},
        "latest": latest,
    })


def countries(runner: QueryRunner, region: str | None = None) -> dict:
    labeller = Labeller(runner)
    rows = run(runner, "countries")
    if region:
        # The rows of the countries in the region (as the query's region parameter selects them),
        # taken from the whole list, which is cached: the query itself, bound to a region, costs
        # as much as the whole list (4 s at 100k updates), for each region.
        wanted = str(named_queries.parse_iri(region))
        inside = {str(r["country"]) for r in rows if wanted in (str(r.get("unRegion")), str(r.get("unSubregion")))}
        rows = [r for r in rows if str(r["country"]) in inside]
    return labeller.resolve({
        "title": "Countries",
        "region": labeller.ref(URIRef(named_queries.parse_iri(region))) if region else None,
        "regions": [labeller.ref(r["value"]) for r in run(runner, "choices-regions")],
        "countries": [
            {
                "country": labeller.ref(r["country"]),
                "code": value(r["code"]),
                "region": labeller.ref(r.get("unRegion")),
                "subregion": labeller.ref(r.get("unSubregion")),
                "updates": value(r["updates"]),
                "developments": value(r["developments"]),
                "latest": value(r["latest"]),
            }
            for r in rows
        ],
    })


def search(runner: QueryRunner, text: str) -> dict:
    labeller = Labeller(runner)
    hits: dict[str, dict] = {}
    for r in run(runner, "search", text=text) if text.strip() else []:
        iri = str(r["resource"])
        hit = hits.setdefault(iri, {"resource": labeller.ref(r["resource"]), "class": None, "matches": []})
        if r.get("class") is not None:
            hit["class"] = labeller.ref(r["class"])
        snippet = str(r["match"])
        if snippet not in hit["matches"]:
            hit["matches"].append(snippet)
    order = {str(KG.Update): 0, str(KG.Measure): 1, str(KG.Incident): 1}
    results = sorted(hits.values(), key=lambda h: (order.get((h["class"] or {}).get("iri"), 2), h["resource"]["iri"]))
    return labeller.resolve({"title": f"Search: {text}" if text else "Search", "text": text, "results": results})


def resource(runner: QueryRunner, iri: str, page: int = 1) -> dict | None:
    """The page of any resource: its statements, incoming links, and sections by type. None if unknown.

    PAGE numbers the pages of a country's updates (COUNTRY_PAGE_SIZE each, newest first); other
    resources have one page."""
    term = URIRef(iri)
    outgoing = run_terms(runner, "describe-out", resource=term)
    incoming = run_terms(runner, "describe-in", resource=term)
    if not outgoing and not incoming:
        return None
    labeller = Labeller(runner)
    types = [r["o"] for r in outgoing if r["p"] == RDF.type]
    grouped: dict[str, dict] = {}
    for r in outgoing:
        entry = grouped.setdefault(str(r["p"]), {"property": labeller.ref(r["p"]), "objects": []})
        o = r["o"]
        entry["objects"].append({"resource": labeller.ref(o)} if isinstance(o, URIRef | BNode) else {"literal": literal_view(o)})
    graphs = sorted({str(r["graph"]) for r in outgoing})
    view = {
        "iri": iri,
        "resource": labeller.ref(term),
        "types": [labeller.ref(t) for t in types],
        "properties": sorted(grouped.values(), key=lambda e: (e["property"]["iri"] != str(RDF.type), e["property"]["iri"])),
        "incoming": [{"resource": labeller.ref(r["s"]), "property": labeller.ref(r["p"])} for r in incoming],
        "graphs": graphs,
        "same_as": [str(r["o"]) for r in outgoing if r["p"] == OWL.sameAs],
        "kind": "resource",
        "sections": {},
        "pagination": None,
    }
    for cls in types:
        kind = SPECIAL.get(cls)
        if kind == "country":
            view["kind"] = "country"
            view["sections"], view["pagination"] = _country_sections(runner, labeller, term, page)
        elif kind == "update":
            view["kind"] = "update"
            view["sections"] = _update_sections(runner, labeller, term, outgoing)
        elif kind == "measure_type":
            view["kind"] = "measure_type"
            view["sections"] = _measure_type_sections(runner, labeller, term)
        elif cls in INVOLVED and view["kind"] == "resource":
            view["kind"] = "involved"
            view["sections"] = {"developments": _developments(labeller, run_terms(runner, "resource-developments", resource=term))}
    labeller.resolve(view)
    view["title"] = view["resource"]["label"]
    return view


def ontology(runner: QueryRunner) -> dict:
    """The ontology's documentation: classes, properties and the concept schemes with their concepts."""
    labeller = Labeller(runner)
    terms = defaultdict(list)
    for r in run(runner, "ontology-terms"):
        terms[str(r["kind"]).rsplit("#", 1)[-1]].append({
            "term": labeller.ref(r["term"]),
            "comment": value(r.get("comment")),
            "parents": [labeller.ref(URIRef(p)) for p in str(r.get("parents") or "").split() if p],
            "domain": labeller.ref(r.get("domain")),
            "range": labeller.ref(r.get("range")),
        })
    schemes: dict[str, dict] = {}
    for r in run(runner, "schemes"):
        scheme = schemes.setdefault(str(r["scheme"]), {"scheme": labeller.ref(r["scheme"]), "concepts": []})
        scheme["concepts"].append({
            "concept": labeller.ref(r["concept"]),
            "definition": value(r.get("definition")),
            "negative": value(r.get("negative")),
        })
    return labeller.resolve({
        "title": "Ontology",
        "iri": str(KG),
        "classes": terms["Class"],
        "object_properties": terms["ObjectProperty"],
        "datatype_properties": terms["DatatypeProperty"],
        "schemes": list(schemes.values()),
    })


def _development_row(labeller: Labeller, r: dict) -> dict:
    return {
        "development": labeller.ref(r.get("development")),
        "label": value(r.get("label")),
        "type": labeller.ref(r.get("type")),
        "status": labeller.ref(r.get("status")),
        "negative": value(r.get("negative")),
        "update": labeller.ref(r.get("update")),
        "date": value(r.get("date")),
        "begin": value(r.get("begin")),
        "end": value(r.get("end")),
        "planned_end": value(r.get("plannedEnd")),
        "according_to": labeller.ref(r.get("accordingTo")),
        "country": labeller.ref(r.get("country")),
    }


def _developments(labeller: Labeller, rows: Iterable[dict]) -> list[dict]:
    """Rows keyed by development (a development with several sources appears once, sources listed)."""
    merged: dict[str, dict] = {}
    for r in rows:
        key = str(r.get("development"))
        row = _development_row(labeller, r)
        if key in merged:
            source = row["according_to"]
            if source and source["iri"] not in {s["iri"] for s in merged[key]["sources"]}:
                merged[key]["sources"].append(source)
            continue
        row["sources"] = [row["according_to"]] if row["according_to"] else []
        merged[key] = row
    return list(merged.values())


def _figure_row(labeller: Labeller, r: dict) -> dict:
    return {
        "figure": labeller.ref(r["figure"]),
        "label": value(r["label"]),
        "value": value(r.get("value")),
        "min": value(r.get("min")),
        "max": value(r.get("max")),
        "min_exclusive": value(r.get("minExclusive")) or False,
        "counts": value(r["counts"]),
        "kind": labeller.ref(r["kind"]),
        "unit": value(r.get("unit")),
        "estimate": value(r.get("estimate")) or False,
        "place": labeller.ref(r.get("place")),
        "update": labeller.ref(r.get("update")),
        "date": value(r.get("date")),
    }


def _country_sections(runner, labeller, term, page: int = 1) -> tuple[dict, dict]:
    """A country's sections for one page of its updates, and where that page is among them."""
    related = defaultdict(list)
    for r in run_terms(runner, "country-related", country=term):
        related[str(r["kind"])].append(labeller.ref(r["resource"]))
    updates = run_terms(runner, "country-updates", country=term)
    pages = max(1, -(-len(updates) // COUNTRY_PAGE_SIZE))
    if not 1 <= page <= pages:
        raise PageNotFound(f"this country's updates have {pages} page{'s' if pages != 1 else ''}, not {page}",
                           "see page 1, which lists the newest")
    shown = updates[(page - 1) * COUNTRY_PAGE_SIZE : page * COUNTRY_PAGE_SIZE]
    on_page = {r["update"] for r in shown}
    sections = {
        "updates": [
            {"update": labeller.ref(r["update"]), "date": value(r["date"]), "page": value(r.get("page"))}
            for r in shown
        ],
        "timeline": _developments(labeller, (r for r in run_terms(runner, "country-developments", country=term)
                                             if r.get("update") in on_page)),
        "figures": [_figure_row(labeller, r) for r in run_terms(runner, "country-figures", country=term)
                    if r.get("update") in on_page],
        "groups": related["group"],
        "places": related["place"],
        "borders": related["border"],
    }
    pagination = {
        "page": page,
        "pages": pages,
        "per_page": COUNTRY_PAGE_SIZE,
        "total": len(updates),
        "first": (page - 1) * COUNTRY_PAGE_SIZE + 1 if shown else 0,
        "last": (page - 1) * COUNTRY_PAGE_SIZE + len(shown),
        "newer": page - 1 if page > 1 else None,
        "older": page + 1 if page < pages else None,
    }
    return sections, pagination


def _update_sections(runner, labeller, term, outgoing) -> dict:
    by_property = defaultdict(list)
    for r in outgoing:
        by_property[r["p"]].append(r["o"])
    involved = defaultdict(list)
    for r in run_terms(runner, "update-involved", update=term):
        involved[str(r["class"]).rsplit("/", 1)[-1]].append(labeller.ref(r["resource"]))
    rows = run_terms(runner, "update-developments", update=term)
    extra = {str(r["development"]): r for r in rows}
    developments = _developments(labeller, rows)
    for row in developments:
        r = extra[row["development"]["iri"]]
        row.update(
            kind="incident" if r["class"] == KG.Incident else "measure",
            scope=value(r.get("scope")),
            exception=value(r.get("exception")),
            channel=labeller.ref(r.get("channel")),
            uncertain=value(r.get("uncertain")) or False,
        )
    return {
        "date": value(next(iter(by_property[DCTERMS.issued]), None)),
        "country": labeller.ref(next(iter(by_property[KG.country]), None)),
        "summary": value(next(iter(by_property[DCTERMS.abstract]), None)),
        "coverage": value(next(iter(by_property[KG.coverage]), None)),
        "page": value(next(iter(by_property[DCTERMS.source]), None)),
        "reporting_bodies": [labeller.ref(o) for o in by_property[KG.reportingBody]],
        "sources": [labeller.ref(o) for o in by_property[KG.cites]],
        "notes": [value(o) for o in by_property[KG.note]],
        "developments": developments,
        "figures": [_figure_row(labeller, r) for r in run_terms(runner, "update-figures", update=term)],
        "groups": involved["MigrantGroup"],
        "places": involved["Place"] + involved["Border"],
        "authorities": involved["Authority"],
        "organisations": involved["Organisation"],
        "cross_references": [
            {
                "direction": value(r["direction"]),
                "update": labeller.ref(r["other"]),
                "theme": labeller.ref(r.get("theme")),
                "date": value(r["date"]),
                "country": labeller.ref(r["country"]),
            }
            for r in run_terms(runner, "update-crossrefs", update=term)
        ],
    }


def _measure_type_sections(runner, labeller, term) -> dict:
    reports = _developments(labeller, run_terms(runner, "measure-type-reports", type=term))
    countries = sorted({r["country"]["iri"] for r in reports if r["country"]})
    return {"reports": reports, "country_count": len(countries)}


__all__ = ["countries", "home", "local_path", "ontology", "resource", "search"]


# -- researchers: canned queries and the comparison matrix -----------------------------------


def _param_views(runner: QueryRunner, query, values: dict[str, str]) -> list[dict]:
    params = []
    for p in query.params:
        choices = []
        if p.choices:
            choices = [{"value": str(r["value"]), "label": str(r["label"])} for r in run(runner, f"choices-{p.choices}")]
        params.append({"name": p.name, "type": p.type, "optional": p.optional, "help": p.help,
                       "choices": choices, "value": values.get(p.name, "")})
    return params


def research_index() -> dict:
    queries = [named_queries.load(n) for n in named_queries.names("research")]
    return {
        "title": "Research queries",
        "queries": [{"name": q.name, "title": q.title, "description": q.description,
                     "params": [p.name for p in q.params]} for q in queries],
    }


def research_query(runner: QueryRunner, name: str, values: dict[str, str]):
    """A canned query's page: its form (with choices), and its results once required values are given.

    Returns (view, result); result is None when the form still lacks a required value.
    """
    query = named_queries.load(name)
    if query.kind != "research":
        raise KGError(f"no research query named {name!r}", "see /queries for the list")
    values = {k: v for k, v in values.items() if k in {p.name for p in query.params} and v}
    view = {
        "title": query.title,
        "name": name,
        "description": query.description,
        "params": _param_views(runner, query, values),
        "sparql": query.sparql,
        "columns": [],
        "rows": [],
        "truncated": False,
        "ready": all(p.optional or p.name in values for p in query.params),
    }
    if not view["ready"]:
        return view, None
    result = runner.run(query.sparql, query.bindings(values), cached=True)
    labeller = Labeller(runner)
    view["columns"] = [v for v in result.variables if v not in values]
    view["rows"] = [[_cell(labeller, row.get(v)) for v in view["columns"]] for row in result.rows]
    view["truncated"] = result.truncated
    labeller.resolve(view)
    return view, result


def _cell(labeller: Labeller, term) -> dict:
    if term is None:
        return {"text": ""}
    if isinstance(term, URIRef):
        ref = labeller.ref(term)
        return {"ref": ref, "text": None}
    return {"text": value(term)}


MATRIX_SORTS = ("country", "region", "measures")


def matrix(runner: QueryRunner, region: str | None, day: str | None, types: list[str], sort: str = "country") -> tuple[dict, object]:
    """Countries × measure types: each cell the strongest status with its earliest date and statements."""
    query = named_queries.load("matrix")
    base = query.bindings({k: v for k, v in {"region": region, "day": day}.items() if v})
    type_terms = [named_queries.parse_iri(t) for t in types] or [None]
    text = bind_rows(query.sparql, ["region", "day", "type"],
                     [[base.get("region"), base.get("day"), t] for t in type_terms])
    result = runner.run(text, cached=True)
    labeller = Labeller(runner)
    columns: dict[str, dict] = {}
    rows: dict[str, dict] = {}
    for r in result.rows:
        type_iri = str(r["type"])
        columns.setdefault(type_iri, {"type": labeller.ref(r["type"]), "label": str(r["typeLabel"])})
        row = rows.setdefault(str(r["country"]), {"country": labeller.ref(r["country"]), "name": str(r["countryName"]), "cells": {}})
        row["cells"][type_iri] = {
            "status": str(r["status"]),
            "conflicting": value(r["conflicting"]) or False,
            "earliest": value(r["earliest"]),
            "statements": [labeller.ref(URIRef(d)) for d in str(r["developments"]).split()],
        }
    regions = {str(r["country"]): r for r in run(runner, "countries")}
    for iri, row in rows.items():
        info = regions.get(iri, {})
        row["region"] = labeller.ref(info.get("unRegion"))
        row["measures"] = len(row["cells"])
    ordered = sorted(rows.values(), key=lambda r: r["name"])
    if sort == "region":
        ordered.sort(key=lambda r: (r["region"]["iri"] if r["region"] else "~"))
    elif sort == "measures":
        ordered.sort(key=lambda r: -r["measures"])
    view = {
        "title": "Comparison matrix",
        "filters": {"region": region or "", "day": day or "", "types": types, "sort": sort},
        "regions": [{"value": str(r["value"]), "label": str(r["label"])} for r in run(runner, "choices-regions")],
        "all_types": [{"value": str(r["value"]), "label": str(r["label"])} for r in run(runner, "choices-measure-types")],
        "columns": sorted(columns.values(), key=lambda c: c["label"]),
        "rows": ordered,
    }
    return labeller.resolve(view), result
