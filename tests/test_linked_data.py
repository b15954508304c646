"""Dereferencing: every IRI under the base at its own path, HTML for people, RDF for machines;
dumps, and a VoID + DCAT description generated from the data."""

from __future__ import annotations

import gzip
import json

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS

from kg.namespaces import DCAT, ID, KG, MT, VOID

KZ = URIRef(f"{ID}country/KZ")
UPDATE = URIRef(f"{ID}update/2020-06-14-kazakhstan")

FORMATS = [
    ("text/turtle", ".ttl", "turtle"),
    ("application/ld+json", ".jsonld", "json-ld"),
    ("application/n-triples", ".nt", "nt"),
    ("application/rdf+xml", ".rdf", "xml"),
]


@pytest.fixture(scope="module")
def expected(web_store):
    """What the store says about the seed update (its statements and the links to it)."""
    from kg.store import EmbeddedStore

    store = EmbeddedStore(web_store, read_only=True)
    result = store.query(f"CONSTRUCT {{ <{UPDATE}> ?p ?o . ?s ?q <{UPDATE}> }} WHERE {{ {{ <{UPDATE}> ?p ?o }} UNION {{ ?s ?q <{UPDATE}> }} }}")
    graph = Graph()
    for triple in result.triples:
        graph.add(triple)
    store.close()
    return graph


@pytest.mark.parametrize(("media", "suffix", "rdflib_format"), FORMATS)
def test_every_rdf_format_by_accept_and_by_suffix_parses_to_the_same_graph(client, expected, media, suffix, rdflib_format):
    by_accept = client.get("/id/update/2020-06-14-kazakhstan", headers={"Accept": media})
    assert by_accept.status_code == 200 and by_accept.mimetype == media
    assert by_accept.headers["Vary"] == "Accept"
    assert by_accept.headers["Content-Location"] == f"/id/update/2020-06-14-kazakhstan{suffix}"
    by_suffix = client.get(f"/id/update/2020-06-14-kazakhstan{suffix}")
    assert by_suffix.mimetype == media
    for response in (by_accept, by_suffix):
        graph = Graph().parse(data=response.data, format=rdflib_format)
        assert isomorphic(graph, expected)
    assert (UPDATE, RDF.type, KG.Update) in expected and len(expected) > 20


def test_q_values_pick_the_format(client):
    response = client.get("/id/country/KZ", headers={"Accept": "text/html;q=0.5, text/turtle;q=0.9, application/ld+json;q=0.8"})
    assert response.mimetype == "text/turtle"
    response = client.get("/id/country/KZ", headers={"Accept": "text/turtle;q=0.2, text/html"})
    assert response.mimetype == "text/html"
    assert client.get("/id/country/KZ", headers={"Accept": "image/png"}).status_code == 406


def test_browsers_get_the_page_with_its_json_ld_embedded(client):
    response = client.get("/id/country/KZ", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    page = response.data.decode()
    assert response.status_code == 200 and "<h1>Kazakhstan</h1>" in page
    start = page.index('<script type="application/ld+json">') + len('<script type="application/ld+json">')
    embedded = Graph().parse(data=page[start : page.index("</script>", start)], format="json-ld")
    assert (KZ, KG.iso3166Alpha3, Literal("KAZ")) in embedded
    assert (KZ, OWL.sameAs, URIRef("http://www.wikidata.org/entity/Q232")) in embedded


def test_unknown_iris_get_a_real_404(client):
    for path in ("/id/country/ZZ", "/id/update/1999-01-01-nowhere", "/def/NoSuchClass", "/id/x%3Ey"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404 and b"Not found" in response.data
    assert client.get("/id/country/ZZ", headers={"Accept": "text/turtle"}).status_code == 404


def test_the_ontology_and_the_schemes_dereference(client):
    page = client.get("/def/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"Reported development" in page.data and b"Release of detainees" in page.data
    ontology = Graph().parse(data=client.get("/def/", headers={"Accept": "text/turtle"}).data, format="turtle")
    assert (KG.Measure, RDF.type, OWL.Class) in ontology and (MT["release-of-detainees"], RDF.type, SKOS.Concept) in ontology
    concept = Graph().parse(data=client.get("/def/measure-type/release-of-detainees.ttl").data, format="turtle")
    assert (MT["release-of-detainees"], SKOS.prefLabel, Literal("Release of detainees", lang="en")) in concept
    term = client.get("/def/accordingTo", headers={"Accept": "text/html"})
    assert term.status_code == 200 and b"according to" in term.data


@pytest.mark.parametrize(("name", "fmt"), [("dataset.trig", "trig"), ("dataset.nq", "nquads")])
def test_dumps_hold_every_graph(client, web_store, name, fmt):
    response = client.get(f"/dumps/{name}")
    assert response.status_code == 200
    dataset = Dataset()
    dataset.parse(data=response.data, format=fmt)
    names = {str(g.identifier) for g in dataset.graphs()}
    assert f"{ID}graph/update/2020-06-14-kazakhstan" in names and f"{ID}graph/meta" in names
    assert (UPDATE, RDF.type, KG.Update) in dataset.graph(URIRef(f"{ID}graph/update/2020-06-14-kazakhstan"))


def test_void_and_dcat_are_generated_from_the_data(client):
    response = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.data, format="turtle")
    dataset = URIRef(f"{ID}dataset")
    assert (dataset, RDF.type, VOID.Dataset) in graph and (dataset, RDF.type, DCAT.Dataset) in graph
    assert graph.value(dataset, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert int(graph.value(dataset, VOID.triples)) > 3000
    partitions = {graph.value(p, VOID["class"]): int(graph.value(p, VOID.entities)) for p in graph.objects(dataset, VOID.classPartition)}
    assert partitions[KG.Update] == 7 and partitions[KG.Country] == 249
    dumps = {str(d) for d in graph.objects(dataset, VOID.dataDump)}
    assert any(d.endswith("/dumps/dataset.trig") for d in dumps)
    assert str(graph.value(dataset, VOID.sparqlEndpoint)).endswith("/sparql")
    subsets = {str(graph.value(s, KG.graph)) for s in graph.objects(dataset, VOID.subset)}
    assert f"{ID}graph/update/2020-06-14-kazakhstan" in subsets
