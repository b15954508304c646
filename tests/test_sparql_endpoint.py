"""/sparql with real clients over loopback: SPARQLWrapper, rdflib's SPARQLStore and raw HTTP."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, N3, TSV, XML, JSONLD, RDFXML, TURTLE, SPARQLWrapper
from werkzeug.serving import make_server

from kg.namespaces import KG, SD
from kg.web import create_app

PREFIX = "PREFIX kg: <https://w3id.org/detention-kg/def/>\nPREFIX dcterms: <http://purl.org/dc/terms/>\n"
UPDATES = PREFIX + "SELECT ?u ?date WHERE { ?u a kg:Update ; dcterms:issued ?date } ORDER BY ?date"
KZ = URIRef("https://w3id.org/detention-kg/id/update/2020-06-14-kazakhstan")
KZ_GRAPH = "https://w3id.org/detention-kg/id/graph/update/2020-06-14-kazakhstan"
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
TIMEOUT = 3


@pytest.fixture(scope="module")
def endpoint(web_store):
    """The app served on 127.0.0.1 by a real HTTP server in a thread; yields the /sparql URL.

    Its store (conftest's web_store) holds the ontology, the reference data and five updates."""
    app = create_app({"KG_STORE": str(web_store), "KG_QUERY_TIMEOUT": str(TIMEOUT), "KG_MAX_ROWS": "1000"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sparql"
    server.shutdown()
    app.extensions["kg_runner"].close()


def http(url, data=None, headers=None, method=None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get(endpoint, query, accept=None, **params):
    url = endpoint + "?" + urllib.parse.urlencode({"query": query, **params}, doseq=True)
    return http(url, headers={"Accept": accept} if accept else {})


# -- SPARQLWrapper, every result format --------------------------------------------------------


def wrapper(endpoint, query, fmt):
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client.query().convert()


def test_sparqlwrapper_select_as_json_xml_csv_tsv(endpoint):
    as_json = wrapper(endpoint, UPDATES, JSON)
    updates = [b["u"]["value"] for b in as_json["results"]["bindings"]]
    assert len(updates) == 7 and str(KZ) in updates

    as_xml = wrapper(endpoint, UPDATES, XML)  # a DOM document
    uris = [
        b.getElementsByTagName("uri")[0].firstChild.data
        for b in as_xml.getElementsByTagName("binding") if b.getAttribute("name") == "u"
    ]
    assert uris == updates

    as_csv = list(csv.reader(io.StringIO(wrapper(endpoint, UPDATES, CSV).decode())))
    assert as_csv[0] == ["u", "date"] and [row[0] for row in as_csv[1:]] == updates

    as_tsv = wrapper(endpoint, UPDATES, TSV).decode().splitlines()
    assert as_tsv[0] == "?u\t?date" and as_tsv[1].startswith("<https://")
    assert '"2020-05-01"^^<http://www.w3.org/2001/XMLSchema#date>' in as_tsv[1]


def test_sparqlwrapper_ask_as_json_and_xml(endpoint):
    ask = PREFIX + f"ASK {{ <{KZ}> a kg:Update }}"
    assert wrapper(endpoint, ask, JSON)["boolean"] is True
    xml = wrapper(endpoint, ask, XML)
    assert xml.getElementsByTagName("boolean")[0].firstChild.data == "true"


@pytest.mark.parametrize(("fmt", "parse_as"), [(TURTLE, "turtle"), (N3, "turtle"), (JSONLD, "json-ld"), (RDFXML, "xml")])
def test_sparqlwrapper_construct_in_every_rdf_format(endpoint, fmt, parse_as):
    query = f"CONSTRUCT {{ <{KZ}> ?p ?o }} WHERE {{ <{KZ}> ?p ?o }}"
    result = wrapper(endpoint, query, fmt)
    graph = result if isinstance(result, Graph) else Graph().parse(data=result, format=parse_as)
    assert (KZ, RDF.type, KG.Update) in graph
    assert (KZ, URIRef("http://purl.org/dc/terms/issued"), Literal("2020-06-14", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))) in graph


def test_rdflib_sparqlstore_reads_the_endpoint(endpoint):
    graph = Graph(store=SPARQLStore(endpoint, returnFormat="json"))
    rows = list(graph.query(UPDATES))
    assert [str(r.date) for r in rows] == ["2020-05-01", "2020-05-26", "2020-06-01", "2020-06-02", "2020-06-10", "2020-06-14", "2020-07-05"]
    described = Graph(store=SPARQLStore(endpoint)).query(f"DESCRIBE <{KZ}>")
    assert (KZ, RDF.type, KG.Update) in set(described)


# -- raw HTTP: every protocol variant ---------------------------------------------------------


def bindings(body: bytes) -> list[str]:
    return [b["u"]["value"] for b in json.loads(body)["results"]["bindings"]]


def test_get_post_form_and_post_query_agree(endpoint):
    status, headers, by_get = get(endpoint, UPDATES, "application/sparql-results+json")
    assert status == 200 and headers["Content-Type"] == "application/sparql-results+json"
    form = urllib.parse.urlencode({"query": UPDATES}).encode()
    _, _, by_form = http(endpoint, form, {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    _, _, by_body = http(endpoint, UPDATES.encode(), {"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
    assert bindings(by_get) == bindings(by_form) == bindings(by_body) and len(bindings(by_get)) == 7


def test_accept_q_values_and_the_format_parameter(endpoint):
    _, headers, _ = get(endpoint, UPDATES, "application/sparql-results+xml;q=0.5, text/csv;q=0.9")
    assert headers["Content-Type"].startswith("text/csv")
    _, headers, _ = get(endpoint, UPDATES, "text/csv;q=0.1, application/sparql-results+json")
    assert headers["Content-Type"] == "application/sparql-results+json"
    _, headers, body = get(endpoint, UPDATES, "text/csv", format="tsv")
    assert headers["Content-Type"].startswith("text/tab-separated-values") and body.startswith(b"?u\t?date")
    assert headers["Vary"] == "Accept"


def test_default_and_named_graph_parameters(endpoint):
    query = PREFIX + "SELECT ?u WHERE { ?u a kg:Update }"
    _, _, body = get(endpoint, query, "application/json", **{"default-graph-uri": KZ_GRAPH})
    assert bindings(body) == [str(KZ)]
    named = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    _, _, body = get(endpoint, named, "application/json", **{"named-graph-uri": KZ_GRAPH})
    assert [b["g"]["value"] for b in json.loads(body)["results"]["bindings"]] == [KZ_GRAPH]


def test_head_and_cors(endpoint):
    status, headers, body = http(endpoint + "?" + urllib.parse.urlencode({"query": UPDATES}), method="HEAD")
    assert status == 200 and body == b"" and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = http(endpoint, method="OPTIONS", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]


def test_service_description_is_generated_from_the_store(endpoint):
    status, headers, body = http(endpoint, headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=body, format="turtle")
    service = URIRef(endpoint)
    assert (service, RDF.type, SD.Service) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    names = {str(n) for n in graph.objects(None, SD.name)}
    assert KZ_GRAPH in names and "https://w3id.org/detention-kg/id/graph/reference/countries" in names
    assert int(graph.value(service, KG.maxRows)) == 1000
    assert str(graph.value(service, KG.queryTimeout)) == f"PT{TIMEOUT}S"


def test_malformed_query_is_400_with_the_parser_message(endpoint):
    status, headers, body = get(endpoint, "SELECT ?s WHERE { ?s ?p }", "application/json")
    assert status == 400 and headers["Content-Type"].startswith("text/plain")
    assert body.decode().startswith("the query does not parse: error at 1:")


def test_nothing_acceptable_is_406(endpoint):
    status, _, body = get(endpoint, UPDATES, "image/png")
    assert status == 406 and b"none of the requested types" in body
    status, _, _ = get(endpoint, UPDATES, None, format="turtle")  # a table cannot be Turtle
    assert status == 406


def test_updates_are_refused(endpoint):
    update = "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }"
    status, _, body = http(endpoint, update.encode(), {"Content-Type": "application/sparql-update"})
    assert status == 403 and b"read-only" in body
    form = urllib.parse.urlencode({"update": update}).encode()
    assert http(endpoint, form, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 403
    status, _, body = get(endpoint, update, "application/json")
    assert status == 400 and b"read-only" in body
    assert http(endpoint, b"x", {"Content-Type": "text/plain"})[0] == 415


# -- safety: no outbound fetches, time limit, row cap ----------------------------------------


@pytest.fixture
def listener():
    """A loopback TCP listener that counts the connections it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                accepted.append(connection)
                connection.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/", accepted
    stop.set()
    thread.join()
    server.close()


def test_service_load_and_from_make_no_outbound_connection(endpoint, listener):
    url, accepted = listener
    attempts = [
        ("get", f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}", {}),
        ("get", f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}", {}),
        ("get", f"SELECT * FROM <{url}g> WHERE {{ ?s ?p ?o }}", {}),
        ("get", f"SELECT * FROM NAMED <{url}g> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
        ("get", "SELECT * WHERE { ?s ?p ?o }", {"default-graph-uri": url}),
        ("get", "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", {"named-graph-uri": url}),
        ("get", f"LOAD <{url}data.ttl>", {}),
        ("post", f"LOAD <{url}data.ttl>", {}),
    ]
    for how, query, params in attempts:
        if how == "get":
            status, _, body = get(endpoint, query, "application/json", **params)
        else:
            status, _, body = http(endpoint, query.encode(), {"Content-Type": "application/sparql-update"})
        assert status in (400, 403), (query, status, body)
    time.sleep(0.5)
    assert accepted == []


def test_explosive_query_is_stopped_while_other_requests_are_answered(endpoint):
    outcome = {}

    def explode():
        started = time.monotonic()
        outcome["status"], _, outcome["body"] = get(endpoint, EXPLOSIVE, "application/json")
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=explode)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    status, _, body = get(endpoint, UPDATES, "application/json")
    quick = time.monotonic() - started
    thread.join()
    assert status == 200 and len(bindings(body)) == 7
    assert outcome["status"] == 503 and b"time limit" in outcome["body"]
    assert quick < outcome["seconds"], "the other request waited for the explosive one"
    assert outcome["seconds"] >= TIMEOUT
    # and the replaced worker answers again
    assert get(endpoint, UPDATES, "application/json")[0] == 200


def test_row_cap_is_announced(endpoint):
    status, headers, body = get(endpoint, "SELECT * WHERE { ?s ?p ?o }", "application/json")
    assert status == 200 and headers["KG-Truncated"] == "true; max-rows=1000"
    assert len(json.loads(body)["results"]["bindings"]) == 1000
    assert json.loads(body)["head"]["link"] == ["#truncated"]


def count_rows(body: bytes, fmt: str) -> int:
    if fmt == "json":
        return len(json.loads(body)["results"]["bindings"])
    if fmt == "xml":
        return len(ElementTree.fromstring(body).findall("{http://www.w3.org/2005/sparql-results#}results/*"))
    if fmt == "tsv":  # one line per row: line breaks inside literals are escaped
        return body.decode().count("\n") - 1
    return len(list(csv.reader(io.StringIO(body.decode(), newline="")))) - 1


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_row_cap_is_applied_and_announced_in_every_format(endpoint, fmt):
    status, headers, body = get(endpoint, "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o", None, format=fmt)
    assert status == 200 and headers["KG-Truncated"] == "true; max-rows=1000"
    assert "row cap" in headers["Warning"] and count_rows(body, fmt) == 1000
    status, headers, body = get(endpoint, "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 1000", None, format=fmt)
    assert status == 200 and "KG-Truncated" not in headers and count_rows(body, fmt) == 1000


# -- the query page ----------------------------------------------------------------------------


def test_query_page_shows_a_labelled_table_downloads_and_a_permalink(endpoint):
    status, headers, body = get(endpoint, UPDATES, "text/html,application/xhtml+xml")
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Kazakhstan, 14 June 2020" in page  # the update's label, not its IRI
    for fmt in ("json", "xml", "csv", "tsv"):
        assert f"format={fmt}" in page
    assert "Permalink" in page and "PREFIX kg:" in page


def test_query_page_escapes_what_it_shows(endpoint):
    hostile = 'SELECT ("<script>alert(1)</script>" AS ?x) WHERE {}'
    _, _, body = get(endpoint, hostile, "text/html")
    assert b"<script>alert(1)</script>" not in body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
