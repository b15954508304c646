"""Linked data: every IRI under the data's base served at its own path, by content negotiation;
the dataset's dumps; and a VoID + DCAT description generated from the data."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file, url_for
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from .. import named_queries, views
from ..namespaces import BASE, DCAT, KG, VOID, bind_prefixes
from ..results import to_rdf
from ..sparql import is_safe_iri
from . import get_runner, negotiate, open_dump_store
from .pictures import country_timeline, measure_timeline, world_map

bp = Blueprint("linked_data", __name__)

#: Machine formats of a resource: name -> (media type, rdflib format, suffix).
RDF_FORMATS = {
    "turtle": ("text/turtle", "turtle", ".ttl"),
    "jsonld": ("application/ld+json", "json-ld", ".jsonld"),
    "ntriples": ("application/n-triples", "nt", ".nt"),
    "rdfxml": ("application/rdf+xml", "xml", ".rdf"),
}
SUFFIXES = {suffix: name for name, (_, _, suffix) in RDF_FORMATS.items()} | {".json": "json", ".html": "html"}
DUMPS = {"trig": ("application/trig", "dataset.trig"), "nquads": ("application/n-quads", "dataset.nq")}
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")


@bp.after_request
def vary_on_accept(response: Response) -> Response:
    """Every response here depends on the Accept header (content negotiation)."""
    response.headers["Vary"] = "Accept"
    return response


def split_suffix(path: str) -> tuple[str, str | None]:
    """'country/KZ.ttl' -> ('country/KZ', 'turtle'); no known suffix -> (path, None)."""
    for suffix, name in SUFFIXES.items():
        if path.endswith(suffix):
            return path[: -len(suffix)], name
    return path, None


@bp.get("/id/<path:path>")
@bp.get("/def/<path:path>")
def dereference(path: str):
    """A resource's page for people, its description for machines, at the same IRI."""
    prefix = request.path.split("/", 2)[1]  # "id" or "def"
    path, chosen = split_suffix(path)
    iri = f"{BASE}{prefix}/{path}"
    if not is_safe_iri(iri):
        return _not_found(iri)
    chosen = chosen or negotiate(["html", "json", *RDF_FORMATS], {
        "text/html": "html", "application/xhtml+xml": "html", "application/json": "json",
        **{media: name for name, (media, _, _) in RDF_FORMATS.items()},
    })
    if chosen in RDF_FORMATS:
        graph = describe(iri)
        if graph is None:
            return _not_found(iri)
        media, rdflib_format, suffix = RDF_FORMATS[chosen]
        response = Response(graph.serialize(format=rdflib_format, encoding="utf-8"), mimetype=media)
        response.headers["Content-Location"] = f"/{prefix}/{path}{suffix}"
        return response
    view = views.resource(get_runner(), iri)
    if view is None:
        return _not_found(iri)
    pictures = {}
    if chosen == "html" and view["kind"] == "country":
        pictures["timeline"] = country_timeline(view)
    elif chosen == "html" and view["kind"] == "measure_type":
        pictures["timeline"] = measure_timeline(view)
        matrix_view, _ = views.matrix(get_runner(), None, None, [iri])
        pictures["map"] = world_map(matrix_view, f"{view['resource']['label']}: status by country")
    return page("resource.html", view, chosen, jsonld=describe(iri), pictures=pictures)


@bp.get("/def/")
@bp.get("/def")
def ontology():
    """The ontology's documentation (HTML) or the ontology itself (RDF), by content negotiation."""
    chosen = negotiate(["html", "json", *RDF_FORMATS], {
        "text/html": "html", "application/json": "json",
        **{media: name for name, (media, _, _) in RDF_FORMATS.items()},
    })
    if chosen in RDF_FORMATS:
        result = get_runner().run(
            named_queries.load("ontology-graph").sparql, cached=True
        )
        media, rdflib_format, _ = RDF_FORMATS[chosen]
        return Response(to_rdf(result, rdflib_format), mimetype=media)
    return page("ontology.html", views.ontology(get_runner()), chosen)


def describe(iri: str) -> Graph | None:
    """The RDF a resource dereferences to: its statements and those pointing at it."""
    query = named_queries.load("describe")
    result = get_runner().run(query.sparql, query.bindings({"resource": f"<{iri}>"}), cached=True)
    if not result.triples:
        return None
    graph = bind_prefixes(Graph())
    for triple in result.triples:
        graph.add(triple)
    return graph


def page(template: str, view: dict, chosen: str, jsonld: Graph | None = None, status: int = 200,
         pictures: dict | None = None) -> Response:
    """A view as HTML (with its JSON-LD embedded) or as its .json twin."""
    if chosen == "json":
        response = current_app.json.response(view)
    else:
        embedded = jsonld.serialize(format="json-ld") if jsonld is not None else None
        body = render_template(template, view=view, jsonld=embedded, twin=json_twin(), pictures=pictures or {})
        response = Response(body, mimetype="text/html")
    response.status_code = status
    return response


def json_twin() -> str:
    """The .json twin of the current page, query string kept."""
    path = request.path
    path = "/index.json" if path == "/" else split_suffix(path.rstrip("/"))[0] + ".json"
    if path == "/def.json":
        path = "/def/?format=json"  # the ontology's twin, by its format parameter
        return path
    query = request.query_string.decode()
    return path + (f"?{query}" if query else "")


def _not_found(iri: str) -> Response:
    body = render_template("not_found.html", title="Not found", iri=iri)
    return Response(body, status=404, mimetype="text/html")


# -- dumps and the dataset description ----------------------------------------------------------


@bp.get("/dumps/<name>")
def dump(name: str):
    """The whole dataset as TriG or N-Quads (named graphs kept), regenerated when the store changes."""
    formats = {filename: (fmt, media) for fmt, (media, filename) in DUMPS.items()}
    if name not in formats:
        abort(404)
    fmt, media = formats[name]
    runner = get_runner()
    key = hashlib.sha256(repr(runner.version_key()).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "kg-dumps"
    folder.mkdir(exist_ok=True)
    target = folder / f"{key}-{name}"
    if not target.exists():
        store = open_dump_store()
        try:
            scratch = target.with_suffix(".part")
            scratch.write_bytes(store.dump(fmt))
            os.replace(scratch, target)
        finally:
            store.close()
    return send_file(target, mimetype=media, as_attachment=True, download_name=name, max_age=0)


@bp.get("/.well-known/void")
def void():
    """VoID and DCAT for the dataset, generated from the store: counts per class, graphs, licence, endpoint, dumps."""
    chosen = negotiate([*RDF_FORMATS], {media: name for name, (media, _, _) in RDF_FORMATS.items()})
    graph = dataset_description()
    media, rdflib_format, _ = RDF_FORMATS[chosen]
    return Response(graph.serialize(format=rdflib_format, encoding="utf-8"), mimetype=media)


def dataset_description() -> Graph:
    runner = get_runner()
    graph = bind_prefixes(Graph())
    dataset = URIRef(f"{BASE}id/dataset")
    service = URIRef(url_for("sparql.endpoint", _external=True))
    graph.add((dataset, RDF.type, VOID.Dataset))
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, Literal("Immigration detention knowledge graph", lang="en")))
    graph.add((dataset, DCTERMS.description, Literal(
        "Global Detention Project country updates on immigration detention, as validated linked data: "
        "measures and their absence, figures, groups, places, authorities and sources.", lang="en")))
    graph.add((dataset, DCTERMS.license, LICENSE))
    graph.add((dataset, DCTERMS.publisher, URIRef(f"{BASE}id/organisation/global-detention-project")))
    graph.add((dataset, VOID.uriSpace, Literal(f"{BASE}id/")))
    graph.add((dataset, VOID.vocabulary, KG[""]))
    graph.add((dataset, VOID.sparqlEndpoint, service))
    endpoint = URIRef(f"{BASE}id/dataset/sparql-service")
    graph.add((endpoint, RDF.type, DCAT.DataService))
    graph.add((endpoint, DCAT.endpointURL, service))
    graph.add((endpoint, DCAT.servesDataset, dataset))
    graph.add((dataset, DCAT.distribution, endpoint))
    for fmt, (media, filename) in DUMPS.items():
        url = URIRef(url_for("linked_data.dump", name=filename, _external=True))
        graph.add((dataset, VOID.dataDump, url))
        distribution = URIRef(f"{BASE}id/dataset/{fmt}")
        graph.add((dataset, DCAT.distribution, distribution))
        graph.add((distribution, RDF.type, DCAT.Distribution))
        graph.add((distribution, DCAT.downloadURL, url))
        graph.add((distribution, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{media}")))
        graph.add((distribution, DCTERMS.license, LICENSE))
    totals = runner.run(named_queries.load("void-totals").sparql, cached=True).rows[0]
    for prop in ("triples", "entities", "distinctSubjects", "properties"):
        graph.add((dataset, VOID[prop], Literal(int(totals[prop]), datatype=XSD.integer)))
    for row in runner.run(named_queries.load("void-classes").sparql, cached=True).rows:
        partition = URIRef(f"{BASE}id/dataset/class/{str(row['class']).rsplit('/', 1)[-1]}")
        graph.add((dataset, VOID.classPartition, partition))
        graph.add((partition, VOID["class"], row["class"]))
        graph.add((partition, VOID.entities, Literal(int(row["n"]), datatype=XSD.integer)))
    for row in runner.run(named_queries.load("graph-sizes").sparql, cached=True).rows:
        subset = URIRef(f"{BASE}id/dataset/graph/{str(row['g'])[len(BASE + 'id/graph/'):]}")
        graph.add((dataset, VOID.subset, subset))
        graph.add((subset, RDF.type, VOID.Dataset))
        graph.add((subset, KG.graph, row["g"]))
        graph.add((subset, VOID.triples, Literal(int(row["n"]), datatype=XSD.integer)))
    return graph
