"""/sparql: the SPARQL 1.1 Protocol (query operation only), a service description, and a query page."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from .. import named_queries
from ..errors import KGError
from ..namespaces import KG, SD, VOID, sparql_prologue
from ..results import compact, to_csv, to_json, to_rdf, to_xml
from ..runner import ResultBody
from ..sparql import bind_rows, is_safe_iri
from ..store.base import QueryResult
from ..statistics import statistics
from . import get_runner
from .cache import cached_page
from .linked_data import serialize as write_triples

bp = Blueprint("sparql", __name__)

MAX_QUERY_LENGTH = 100_000

# Result formats: name -> (media type, SPARQL format IRI). Named maps, chosen by Accept or ?format=.
TABLE_FORMATS = {
    "json": ("application/sparql-results+json", "SPARQL_Results_JSON"),
    "xml": ("application/sparql-results+xml", "SPARQL_Results_XML"),
    "csv": ("text/csv", "SPARQL_Results_CSV"),
    "tsv": ("text/tab-separated-values", "SPARQL_Results_TSV"),
}
GRAPH_FORMATS = {
    "turtle": ("text/turtle", "Turtle"),
    "ntriples": ("application/n-triples", "N-Triples"),
    "jsonld": ("application/ld+json", "JSON-LD"),
    "rdfxml": ("application/rdf+xml", "RDF_XML"),
}
_ALIASES = {  # other media types clients send, and what they get
    "application/json": "json", "application/xml": "xml", "text/xml": "xml",
    "application/x-turtle": "turtle", "text/plain": "ntriples", "text/n3": "turtle",
}
_FORMAT_ALIASES = {  # ?format= values other clients send (SPARQLWrapper adds format=<its name>)
    "table": {"json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv", "html": "html"},
    "graph": {
        "turtle": "turtle", "ttl": "turtle", "n3": "turtle", "nt": "ntriples", "ntriples": "ntriples",
        "n-triples": "ntriples", "json-ld": "jsonld", "jsonld": "jsonld", "rdf+xml": "rdfxml", "rdfxml": "rdfxml",
        "xml": "rdfxml", "html": "html",
    },
}
_RDFLIB = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml"}
FORMATS_NS = "http://www.w3.org/ns/formats/"


class ProtocolError(KGError):
    def __init__(self, status: int, message: str, hint: str | None = None):
        super().__init__(message, hint)
        self.status = status


def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, HEAD, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
    response.headers["Access-Control-Expose-Headers"] = "KG-Truncated, KG-Query-Seconds"
    response.headers["Vary"] = "Accept"
    return response


bp.after_request(_cors)


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint():
    """The SPARQL 1.1 Protocol: GET ?query=, POST form, POST application/sparql-query."""
    if request.method == "OPTIONS":
        return Response(status=204)
    try:
        query, default_graphs, named_graphs = _read_request()
        if query is None:
            return _service_description()
        choice = _negotiate(query)
        if choice == "html":
            return _query_page(query, default_graphs, named_graphs)
        # A SELECT or ASK answer comes back from the query worker already written in the chosen
        # format (kg.runner.ResultBody); CONSTRUCT and DESCRIBE as terms, written here.
        serialize = choice if choice in TABLE_FORMATS else None
        result = get_runner().run(query, default_graphs=default_graphs, named_graphs=named_graphs, serialize=serialize)
        return _result_response(result, choice)
    except KGError as error:
        return _error_response(error)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _form():
    """The POSTed form fields; none for other bodies (without parsing anything for them)."""
    if request.method == "POST" and (request.mimetype or "").lower() in _FORM_TYPES:
        return request.form
    return {}


def _read_request() -> tuple[str | None, list[str], list[str]]:
    content_type = (request.mimetype or "").lower()
    if request.method == "POST":
        if content_type == "application/sparql-update" or "update" in _form():
            raise ProtocolError(
                403, "this endpoint is read-only: SPARQL Update is not accepted",
                "changes go through `kg load` or the editor area",
            )
        if content_type == "application/sparql-query":
            query = request.get_data(as_text=True)
            args = request.args.to_dict(flat=False)
        elif content_type in _FORM_TYPES:
            query = request.form.get("query")
            args = request.args.to_dict(flat=False) | request.form.to_dict(flat=False)
        else:
            raise ProtocolError(
                415, f"unsupported request type {content_type or '(none)'}",
                "POST the query as application/sparql-query or as the form field query",
            )
    else:
        if "update" in request.args:
            raise ProtocolError(403, "this endpoint is read-only: SPARQL Update is not accepted")
        query = request.args.get("query")
        args = request.args.to_dict(flat=False)
    if query is not None and len(query) > MAX_QUERY_LENGTH:
        raise ProtocolError(413, f"the query is longer than {MAX_QUERY_LENGTH} characters")
    if query is not None and not query.strip():
        query = None
    return query, args.get("default-graph-uri", []), args.get("named-graph-uri", [])


def _negotiate(query: str) -> str:
    """The format to answer in: ?format= wins, then Accept with q-values; HTML for browsers."""
    kind = "graph" if _is_graph_query(query) else "table"
    formats = GRAPH_FORMATS if kind == "graph" else TABLE_FORMATS
    wanted = request.args.get("format") or _form().get("format")
    if wanted:
        wanted = wanted.lower()
        by_media = {media: name for name, (media, _) in formats.items()}
        chosen = _FORMAT_ALIASES[kind].get(wanted) or by_media.get(wanted) or _ALIASES.get(wanted)
        if chosen == "html" or chosen in formats:
            return chosen
        raise ProtocolError(
            406, f"cannot give this query's result as {wanted!r}",
            f"use one of {', '.join(['html', *formats])}",
        )
    offered = _OFFERED[kind]
    # Most clients ask for exactly one type (SPARQLWrapper, curl -H, the benchmark): found by
    # one lookup, before parsing Accept with q-values, which costs more than a small query.
    single = request.headers.get("Accept", "").strip().lower()
    if single in offered and single != "text/html":
        return offered[single]
    accept = request.accept_mimetypes
    if not accept or accept.best == "*/*" and "text/html" not in accept.values():
        return "json" if kind == "table" else "turtle"
    best = accept.best_match(list(offered))
    if best is None:
        raise ProtocolError(
            406, f"none of the requested types ({request.headers.get('Accept')}) can be produced for this query",
            "accept one of " + ", ".join(media for name, (media, _) in formats.items()),
        )
    if best == "text/html" and accept["text/html"] < max(accept[m] for m in offered if m != "text/html"):
        return offered[accept.best_match([m for m in offered if m != "text/html"])]
    return offered[best]


def _offered(formats: dict) -> dict[str, str]:
    offered = {media: name for name, (media, _) in formats.items()}
    offered |= {media: name for media, name in _ALIASES.items() if name in formats}
    offered["text/html"] = "html"
    return offered


_OFFERED = {"table": _offered(TABLE_FORMATS), "graph": _offered(GRAPH_FORMATS)}  # media type -> format


def _is_graph_query(query: str) -> bool:
    from ..sparql import query_form, unescape_codepoints

    return query_form(unescape_codepoints(query)) in ("CONSTRUCT", "DESCRIBE")


def _result_response(result: QueryResult | ResultBody, fmt: str) -> Response:
    if isinstance(result, ResultBody):
        body, media = result.body, TABLE_FORMATS[result.fmt][0]
    elif result.kind == "graph":
        body, media = to_rdf(result, _RDFLIB[fmt]), GRAPH_FORMATS[fmt][0]
    else:
        writer = {"json": to_json, "xml": to_xml, "csv": to_csv, "tsv": lambda r: to_csv(r, "\t")}[fmt]
        body, media = writer(result), TABLE_FORMATS[fmt][0]
    response = Response(body, mimetype=media)
    if media.startswith("text/") or media.endswith("+xml"):
        response.content_type = f"{media}; charset=utf-8"
    return _annotate(response, result)


def _annotate(response: Response, result: QueryResult | ResultBody) -> Response:
    response.headers["KG-Query-Seconds"] = f"{result.elapsed:.3f}"
    if result.truncated:
        cap = get_runner().limits.max_rows
        response.headers["KG-Truncated"] = f"true; max-rows={cap}"
        response.headers["Warning"] = f'199 - "result truncated at {cap} rows (the row cap)"'
    return response


def _error_response(error: KGError) -> Response:
    status = getattr(error, "status", 400)
    if "text/html" in (request.accept_mimetypes.best or "") and request.accept_mimetypes.best != "*/*":
        page = render_template("sparql.html", **_page_context(request.values.get("query") or ""), error=error)
        return Response(page, status=status, mimetype="text/html")
    text = error.message + (f"\nhint: {error.hint}" if error.hint else "") + "\n"
    return Response(text, status=status, mimetype="text/plain")


# -- service description ------------------------------------------------------------------------


@cached_page  # kept until the store changes, per Accept and ?format= (kg.web.cache)
def _service_description() -> Response:
    if request.accept_mimetypes.best_match(["text/turtle", "text/html"]) == "text/html" and (
        request.accept_mimetypes["text/html"] > request.accept_mimetypes["text/turtle"]
    ):
        return Response(render_template("sparql.html", **_page_context("")), mimetype="text/html")
    triples = service_description(url_for("sparql.endpoint", _external=True))
    fmt = "turtle"
    wanted = request.args.get("format")
    if wanted in GRAPH_FORMATS:
        fmt = wanted
    else:
        offered = {media: name for name, (media, _) in GRAPH_FORMATS.items()}
        best = request.accept_mimetypes.best_match(list(offered))
        if best:
            fmt = offered[best]
    # Oxigraph writes it: one named graph per update makes 600,000 triples at 100k updates.
    return Response(write_triples(triples, _RDFLIB[fmt]), mimetype=GRAPH_FORMATS[fmt][0])


def service_description(endpoint_url: str) -> list[tuple]:
    """A SPARQL 1.1 Service Description generated from the store: graphs, formats, limits (as triples)."""
    runner = get_runner()
    graph = []
    add = graph.append
    service = URIRef(endpoint_url)
    add((service, RDF.type, SD.Service))
    add((service, SD.endpoint, service))
    add((service, SD.supportedLanguage, SD.SPARQL11Query))
    add((service, SD.feature, SD.UnionDefaultGraph))
    for _, (_, name) in {**TABLE_FORMATS, **GRAPH_FORMATS}.items():
        add((service, SD.resultFormat, URIRef(FORMATS_NS + name)))
    add((service, KG.queryTimeout, Literal(f"PT{runner.limits.timeout:g}S", datatype=XSD.duration)))
    add((service, KG.maxRows, Literal(runner.limits.max_rows)))
    add((service, RDFS.comment, Literal(
        "Read-only. The default graph is the union of the named graphs. SERVICE, SPARQL Update and "
        f"FROM on graphs outside this store are refused; queries stop after {runner.limits.timeout:g} s "
        f"and return at most {runner.limits.max_rows} rows.", lang="en")))
    dataset = BNode()
    add((service, SD.defaultDataset, dataset))
    add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    add((dataset, SD.defaultGraph, default))
    add((default, RDF.type, SD.Graph))
    add((default, RDFS.comment, Literal("The union of all named graphs.", lang="en")))
    # Sizes as recorded by each load in the meta graph, once per store version (kg.statistics);
    # written as Oxigraph terms, which write_triples() takes too (600,000 triples at 100k graphs).
    import pyoxigraph as ox

    o_named_graph, o_type, o_name, o_graph, o_graph_class, o_triples, o_integer, o_has = (
        ox.NamedNode(t) for t in (SD.NamedGraph, RDF.type, SD.name, SD.graph, SD.Graph, VOID.triples,
                                  XSD.integer, SD.namedGraph))
    for iri, count in statistics(runner).graphs:
        named = ox.BlankNode()
        description = ox.BlankNode()
        add((dataset, o_has, named))
        add((named, o_type, o_named_graph))
        add((named, o_name, ox.NamedNode(iri)))
        add((named, o_graph, description))
        add((description, o_type, o_graph_class))
        add((description, o_triples, ox.Literal(str(count), datatype=o_integer)))
    return graph


# -- the query page ---------------------------------------------------------------------------


def _page_context(query: str) -> dict:
    examples = []
    for name in named_queries.names():
        named = named_queries.load(name)
        if not any(not p.optional for p in named.params):
            examples.append((named.title, named.description, named.sparql))
    default_query = sparql_prologue() + "\nSELECT ?update ?date WHERE {\n  ?update a kg:Update ; dcterms:issued ?date .\n} ORDER BY DESC(?date) LIMIT 20\n"
    return {"title": "SPARQL query", "query": query or default_query, "examples": examples, "result": None,
            "downloads": [], "cells": []}


def _query_page(query: str, default_graphs, named_graphs) -> Response:
    context = _page_context(query)
    result = get_runner().run(query, default_graphs=default_graphs, named_graphs=named_graphs)
    formats = GRAPH_FORMATS if result.kind == "graph" else TABLE_FORMATS
    base = {"query": query, **({"default-graph-uri": default_graphs} if default_graphs else {})}
    context["downloads"] = [
        (name, url_for("sparql.endpoint") + "?" + urlencode({**base, "format": name}, doseq=True))
        for name in formats
    ]
    context["permalink"] = url_for("sparql.endpoint") + "?" + urlencode(base, doseq=True)
    context["result"] = result
    context["cells"] = _cells(result, _labels(result))
    return _annotate(Response(render_template("sparql.html", **context), mimetype="text/html"), result)


def _labels(result: QueryResult) -> dict[str, str]:
    """Labels for the IRIs in a result (one query, at most 500 IRIs), for a readable table."""
    terms = {t for row in result.rows for t in row.values() if isinstance(t, URIRef)}
    terms |= {t for triple in result.triples for t in triple if isinstance(t, URIRef)}
    terms = [t for t in sorted(terms) if is_safe_iri(t)][:500]
    if not terms:
        return {}
    query = bind_rows(named_queries.load("labels").sparql, ["s"], [[t] for t in terms])
    return {str(r["s"]): str(r["label"]) for r in get_runner().run(query).rows}


def _cells(result: QueryResult, labels: dict[str, str]) -> list[list[dict]]:
    """The result as table cells for the page: text, a link for http(s) IRIs, a language tag."""
    if result.kind == "select":
        rows = [[row.get(v) for v in result.variables] for row in result.rows]
    else:
        rows = [list(triple) for triple in result.triples]
    return [[_cell(term, labels) for term in row] for row in rows]


def _cell(term, labels: dict[str, str]) -> dict:
    if term is None:
        return {"text": ""}
    if isinstance(term, URIRef):
        iri = str(term)
        if iri.startswith(("http://", "https://")):
            href = url_for("sparql.endpoint") + "?" + urlencode({"query": f"DESCRIBE <{iri}>", "format": "html"})
            return {"text": labels.get(iri) or compact(term), "href": href, "title": iri}
        return {"text": compact(term)}
    if isinstance(term, Literal):
        return {"text": str(term), "lang": term.language}
    return {"text": str(term)}
