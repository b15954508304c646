"""Linked data: every IRI under the data's base served at its own path, by content negotiation;
the dataset's dumps; and a VoID + DCAT description generated from the data."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file, url_for
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from .. import named_queries, views
from ..namespaces import BASE, DCAT, KG, PREFIXES, VOID, bind_prefixes
from ..results import to_rdf
from ..sparql import is_safe_iri
from ..statistics import statistics
from . import get_runner, negotiate, open_dump_store
from .cache import cached_page
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
@cached_page
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
    page_number = request.args.get("page", "1")
    if not page_number.isdigit():
        return _not_found(iri)
    view = views.resource(get_runner(), iri, int(page_number))
    if view is None:
        return _not_found(iri)
    pictures = {}
    if chosen == "html" and view["kind"] == "country":
        pictures["timeline"] = country_timeline(view)
    elif chosen == "html" and view["kind"] == "measure_type":
        pictures["timeline"] = measure_timeline(view)
        matrix_view, _ = views.matrix(get_runner(), None, None, [iri])
        pictures["map"] = world_map(matrix_view, f"{view['resource']['label']}: status by country")
    return page("resource.html", view, chosen, jsonld=own_statements(iri), pictures=pictures)


@bp.get("/def/")
@bp.get("/def")
@cached_page
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


def own_statements(iri: str) -> Graph | None:
    """What a page embeds as JSON-LD: the resource's own statements. The links pointing at it are
    in its full description (.jsonld and the other formats); a country's run to over a thousand."""
    full = describe(iri)
    if full is None:
        return None
    graph = bind_prefixes(Graph())
    for triple in full.triples((URIRef(iri), None, None)):
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
@cached_page
def void():
    """VoID and DCAT for the dataset, generated from the store: counts per class, graphs, licence, endpoint, dumps."""
    chosen = negotiate([*RDF_FORMATS], {media: name for name, (media, _, _) in RDF_FORMATS.items()})
    media, rdflib_format, _ = RDF_FORMATS[chosen]
    return Response(serialize(dataset_description(), rdflib_format), mimetype=media)


def dataset_description() -> list[tuple]:
    """The dataset's VoID + DCAT description, as triples (one subset per named graph: 400,000
    triples at 100k updates, which is why they are a list and Oxigraph writes them)."""
    stats = statistics(get_runner())
    triples = []
    add = triples.append
    dataset = URIRef(f"{BASE}id/dataset")
    service = URIRef(url_for("sparql.endpoint", _external=True))
    add((dataset, RDF.type, VOID.Dataset))
    add((dataset, RDF.type, DCAT.Dataset))
    add((dataset, DCTERMS.title, Literal("Immigration detention knowledge graph", lang="en")))
    add((dataset, DCTERMS.description, Literal(
        "Global Detention Project country updates on immigration detention, as validated linked data: "
        "measures and their absence, figures, groups, places, authorities and sources.", lang="en")))
    add((dataset, DCTERMS.license, LICENSE))
    add((dataset, DCTERMS.publisher, URIRef(f"{BASE}id/organisation/global-detention-project")))
    add((dataset, VOID.uriSpace, Literal(f"{BASE}id/")))
    add((dataset, VOID.vocabulary, KG[""]))
    add((dataset, VOID.sparqlEndpoint, service))
    endpoint = URIRef(f"{BASE}id/dataset/sparql-service")
    add((endpoint, RDF.type, DCAT.DataService))
    add((endpoint, DCAT.endpointURL, service))
    add((endpoint, DCAT.servesDataset, dataset))
    add((dataset, DCAT.distribution, endpoint))
    for fmt, (media, filename) in DUMPS.items():
        url = URIRef(url_for("linked_data.dump", name=filename, _external=True))
        add((dataset, VOID.dataDump, url))
        distribution = URIRef(f"{BASE}id/dataset/{fmt}")
        add((dataset, DCAT.distribution, distribution))
        add((distribution, RDF.type, DCAT.Distribution))
        add((distribution, DCAT.downloadURL, url))
        add((distribution, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{media}")))
        add((distribution, DCTERMS.license, LICENSE))
    # void:triples only: the distinct subjects, entities and properties of the whole store need
    # a scan of every quad (over 120 s at 100k updates), and VoID makes all four optional.
    add((dataset, VOID.triples, Literal(stats.triples, datatype=XSD.integer)))
    for cls, n in stats.classes:
        partition = URIRef(f"{BASE}id/dataset/class/{cls.rsplit('/', 1)[-1]}")
        add((dataset, VOID.classPartition, partition))
        add((partition, VOID["class"], URIRef(cls)))
        add((partition, VOID.entities, Literal(n, datatype=XSD.integer)))
    # One subset per graph, written as Oxigraph terms (serialize() takes both): making 400,000
    # rdflib terms took 2.3 s at 100k graphs.
    import pyoxigraph as ox

    prefix = len(BASE + "id/graph/")
    o_dataset, o_subset, o_type, o_void_dataset, o_graph, o_triples, o_integer = (
        ox.NamedNode(t) for t in (dataset, VOID.subset, RDF.type, VOID.Dataset, KG.graph, VOID.triples, XSD.integer))
    for graph, n in stats.graphs:
        subset = ox.NamedNode(f"{BASE}id/dataset/graph/{graph[prefix:]}")
        add((o_dataset, o_subset, subset))
        add((subset, o_type, o_void_dataset))
        add((subset, o_graph, ox.NamedNode(graph)))
        add((subset, o_triples, ox.Literal(str(n), datatype=o_integer)))
    return triples


_OXIGRAPH_FORMATS = {"turtle": "TURTLE", "json-ld": "JSON_LD", "nt": "N_TRIPLES", "xml": "RDF_XML"}


def serialize(triples, rdflib_format: str) -> bytes:
    """Triples of rdflib (or Oxigraph) terms written by Oxigraph in RDFLIB_FORMAT (turtle, json-ld, nt, xml).

    For the large generated descriptions: rdflib takes minutes to write the 400,000 triples of
    the dataset description at 100k updates; Oxigraph takes about a second."""
    import pyoxigraph as ox

    named, blanks = {}, {}
    native = (ox.NamedNode, ox.BlankNode, ox.Literal)

    def term(t):
        if isinstance(t, native):
            return t
        if isinstance(t, URIRef):
            node = named.get(t)
            if node is None:
                node = named[t] = ox.NamedNode(t)
            return node
        if isinstance(t, BNode):
            node = blanks.get(t)
            if node is None:
                node = blanks[t] = ox.BlankNode()
            return node
        if t.language:
            return ox.Literal(str(t), language=t.language)
        if t.datatype is not None:
            return ox.Literal(str(t), datatype=term(t.datatype))
        return ox.Literal(str(t))

    prefixes = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
    return ox.serialize(
        (ox.Triple(term(s), term(p), term(o)) for s, p, o in triples),
        format=getattr(ox.RdfFormat, _OXIGRAPH_FORMATS[rdflib_format]),
        prefixes=prefixes if rdflib_format in ("turtle", "xml", "json-ld") else None,
    )
