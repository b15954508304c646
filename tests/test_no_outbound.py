"""No outbound fetches: nothing a client sends (SPARQL SERVICE, LOAD, FROM / FROM NAMED and graph
parameters, research-query parameters, Turtle whose @base, @prefix and objects name a URL,
owl:imports, JSON-LD with a remote @context, RDF/XML with an external entity) and nothing `kg
validate` / `kg load` read makes this service open a connection.

The witness is a TCP listener on loopback that counts the connections it accepts (and answers
each like a willing server: SPARQL results, a JSON-LD context or Turtle, so that a fetch would
succeed rather than fail quietly). Every test ends with zero connections accepted. The first
tests check the witness itself: a plain HTTP client and pyoxigraph's own SERVICE are counted.
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
import urllib.request

import pyoxigraph
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.load import Loader
from kg.store import EmbeddedStore
from kg.web import create_app

from conftest import DATA, ROOT, TEST_DATA

TOKEN = "no-outbound-editor-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
SETTLE = 0.05  # seconds to let a stray connection arrive before counting (fetches are synchronous)


class Listener:
    """A TCP server on 127.0.0.1:<free port> that counts and records the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(65536)
                except OSError:
                    head = b""
                with self._lock:
                    self.requests.append(head)
                try:
                    conn.sendall(self._answer(head))
                except OSError:
                    pass

    @staticmethod
    def _answer(head: bytes) -> bytes:
        line = head.split(b"\r\n", 1)[0]
        if b"sparql" in line:
            body, media = b'{"head":{"vars":["s"]},"results":{"bindings":[]}}', b"application/sparql-results+json"
        elif b"context" in line or b".jsonld" in line:
            body, media = b'{"@context":{"@vocab":"http://example.org/"}}', b"application/ld+json"
        else:
            body, media = b"<http://example.org/s> <http://example.org/p> <http://example.org/o> .\n", b"text/turtle"
        return (b"HTTP/1.1 200 OK\r\nContent-Type: " + media + b"\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    @property
    def connections(self) -> int:
        time.sleep(SETTLE)
        with self._lock:
            return len(self.requests)

    def assert_untouched(self):
        count = self.connections
        assert count == 0, f"{count} connection(s) reached the listener: {[r[:200] for r in self.requests]}"

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    witness = Listener()
    yield witness
    witness.close()


# -- the witness works ----------------------------------------------------------------------------


def test_the_listener_counts_a_plain_http_fetch(listener):
    with urllib.request.urlopen(listener.url + "data.ttl", timeout=5) as response:
        assert response.status == 200
    assert listener.connections == 1


def test_the_listener_counts_pyoxigraph_service(listener):
    """What the checks below guard against: Oxigraph itself does fetch a SERVICE."""
    store = pyoxigraph.Store()
    list(store.query(f"SELECT * WHERE {{ SERVICE <{listener.url}sparql> {{ ?s ?p ?o }} }}"))
    assert listener.connections == 1


# -- /sparql and the pages ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web_app(web_store):
    app = create_app({"KG_STORE": str(web_store), "KG_QUERY_TIMEOUT": "5", "TESTING": True})
    yield app
    if app.extensions.get("kg_runner") is not None:
        app.extensions["kg_runner"].close()


def sparql_attempts(url: str) -> dict[str, str]:
    return {
        "service": f"SELECT * WHERE {{ SERVICE <{url}sparql> {{ ?s ?p ?o }} }}",
        "service-silent": f"SELECT * WHERE {{ SERVICE SILENT <{url}sparql> {{ ?s ?p ?o }} }}",
        "service-lowercase": f"select * where {{ service <{url}sparql> {{ ?s ?p ?o }} }}",
        "service-prefixed": f"PREFIX remote: <{url}> SELECT * WHERE {{ SERVICE remote:sparql {{ ?s ?p ?o }} }}",
        "service-variable": f"SELECT * WHERE {{ VALUES ?e {{ <{url}sparql> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        "service-nested": f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ OPTIONAL {{ SERVICE <{url}sparql> {{ ?s ?p ?o }} }} }} }} }}",
        "service-in-exists": f"ASK {{ FILTER EXISTS {{ SERVICE <{url}sparql> {{ ?s ?p ?o }} }} }}",
        "service-construct": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}sparql> {{ ?s ?p ?o }} }}",
        "service-after-comment": f"# a comment {{\nSELECT * WHERE {{ SERVICE <{url}sparql> {{ ?s ?p ?o }} }}",
        "service-newlines": f"SELECT * WHERE {{\nSERVICE\n<{url}sparql>\n{{ ?s ?p ?o }} }}",
        "load": f"LOAD <{url}data.ttl>",
        "load-into": f"LOAD SILENT <{url}data.ttl> INTO GRAPH <https://w3id.org/detention-kg/id/graph/x>",
        "load-after-prefix": f"PREFIX x: <{url}> LOAD <{url}data.ttl>",
        "from": f"SELECT * FROM <{url}data.ttl> WHERE {{ ?s ?p ?o }} LIMIT 1",
        "from-named": f"SELECT * FROM NAMED <{url}data.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1",
        "from-prefixed": f"PREFIX x: <{url}> SELECT * FROM x:data WHERE {{ ?s ?p ?o }} LIMIT 1",
        "describe-remote": f"DESCRIBE <{url}thing>",
        "iri-function": f'SELECT * WHERE {{ BIND(IRI("{url}x") AS ?x) }}',
    }


ATTEMPTS = sorted(sparql_attempts("http://127.0.0.1:1/"))


@pytest.mark.parametrize("how", ["get", "post-form", "post-direct", "page"])
@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_sparql_never_fetches(web_app, listener, attempt, how):
    query = sparql_attempts(listener.url)[attempt]
    client = web_app.test_client()
    if how == "get":
        response = client.get("/sparql", query_string={"query": query})
    elif how == "post-form":
        response = client.post("/sparql", data={"query": query})
    elif how == "post-direct":
        response = client.post("/sparql", data=query, content_type="application/sparql-query")
    else:  # the query page in a browser
        response = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/html"})
    assert response.status_code in (200, 400, 403), response.get_data(as_text=True)[:500]
    if attempt.startswith(("service", "load", "from")):
        assert response.status_code in (400, 403), f"{attempt} was not refused"
    listener.assert_untouched()


@pytest.mark.parametrize("param", ["default-graph-uri", "named-graph-uri"])
def test_graph_parameters_naming_a_url_are_refused_without_a_fetch(web_app, listener, param):
    client = web_app.test_client()
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
    for response in (
        client.get("/sparql", query_string={"query": query, param: listener.url + "data.ttl"}),
        client.post("/sparql", data={"query": query, param: listener.url + "data.ttl"}),
        client.post("/sparql", data=query, content_type="application/sparql-query",
                    query_string={param: listener.url + "data.ttl"}),
    ):
        assert response.status_code == 400
    listener.assert_untouched()


def test_sparql_update_naming_a_url_is_refused_without_a_fetch(web_app, listener):
    client = web_app.test_client()
    update = f"LOAD <{listener.url}data.ttl>"
    assert client.post("/sparql", data=update, content_type="application/sparql-update").status_code == 403
    assert client.post("/sparql", data={"update": update}).status_code == 403
    assert client.get("/sparql", query_string={"update": update}).status_code == 403
    listener.assert_untouched()


def test_research_queries_and_pages_with_url_parameters_never_fetch(web_app, listener):
    """IRIs given to the research queries, the matrix, countries and dereferencing are only names."""
    from kg import named_queries

    client = web_app.test_client()
    url = listener.url
    for name in named_queries.names("research"):
        params = {p.name: (url + "x" if p.type == "iri" else "2020-06-15") for p in named_queries.load(name).params}
        for fmt in ("", ".json", ".csv"):
            response = client.get(f"/queries/{name}{fmt}", query_string=params)
            assert response.status_code in (200, 400), (name, fmt, response.status_code)
        response = client.get(f"/queries/{name}.json", query_string={k: f"<{url}x>" for k in params})
        assert response.status_code in (200, 400)
    for path, args in [
        ("/countries.json", {"region": url}), ("/matrix.json", {"region": url, "type": url + "t"}),
        ("/matrix.csv", {"type": f"<{url}t>"}), ("/search.json", {"q": url}),
        ("/id/country/KZ.json", {"format": url}), ("/def/", {"format": url}),
    ]:
        assert client.get(path, query_string=args).status_code in (200, 400, 404, 406)
    listener.assert_untouched()


@pytest.fixture(scope="module")
def remote_app(oxigraph_url):
    """The app over `oxigraph serve` (empty): that server, too, would fetch a SERVICE it is sent."""
    app = create_app({"KG_SPARQL_QUERY": f"{oxigraph_url}/query", "KG_SPARQL_UPDATE": f"{oxigraph_url}/update",
                      "KG_QUERY_TIMEOUT": "5", "TESTING": True})
    yield app


@pytest.mark.parametrize("how", ["get", "page", "remote-store"])
def test_a_service_hidden_from_the_text_check_is_not_fetched(request, listener, how):
    app = request.getfixturevalue("remote_app" if how == "remote-store" else "web_app")
    query = (f"SELECT * WHERE {{ BIND(<http://x/\\u0041#> AS ?x) "
             f"SERVICE SILENT <{listener.url}sparql> {{ ?s ?p ?o }} }}")
    headers = {"Accept": "text/html"} if how == "page" else {}
    response = app.test_client().get("/sparql", query_string={"query": query}, headers=headers)
    assert response.status_code in (200, 400)
    listener.assert_untouched()


@pytest.mark.parametrize("attempt", ["service", "service-silent", "service-prefixed", "load", "from"])
def test_the_remote_store_is_never_asked_to_fetch(remote_app, listener, attempt):
    response = remote_app.test_client().get("/sparql", query_string={"query": sparql_attempts(listener.url)[attempt]})
    assert response.status_code in (400, 403)
    listener.assert_untouched()


# -- the editor -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("outbound") / "store"
    store = EmbeddedStore(path)
    Loader(store).load([ROOT / "ontology", DATA / "reference"])
    store.close()
    return path


@pytest.fixture
def editor(base_store, tmp_path, monkeypatch):
    """An editor app on a private copy of the store (uploads here are loaded)."""
    path = tmp_path / "store"
    shutil.copytree(base_store, path)
    monkeypatch.setattr("kg.web.editor.STAGING", tmp_path / "staging")
    app = create_app({"KG_STORE": str(path), "KG_EDITOR_TOKEN": TOKEN, "TESTING": True})
    yield app
    if app.extensions.get("kg_runner") is not None:
        app.extensions["kg_runner"].close()


def turtle_naming(url: str) -> str:
    """A conforming update whose @base, @prefix and objects point at URL, with an owl:imports of it."""
    good = (TEST_DATA / "load" / "2020-07-01-testland.ttl").read_text(encoding="utf-8")
    head = (f"@base <{url}> .\n@prefix remote: <{url}vocab#> .\n"
            "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n")
    tail = (f"\n<{url}ontology.ttl> a owl:Ontology ; owl:imports <{url}imported.ttl> .\n"
            f"update:2020-07-01-testland rdfs:seeAlso <{url}page>, remote:thing, <relative/page> .\n")
    return head + good.replace("<https://www.globaldetentionproject.org/01-july-2020-testland>", f"<{url}update>") + tail


def jsonld_with_remote_context(url: str) -> str:
    return ('{"@context": "%scontext.jsonld", "@id": "https://w3id.org/detention-kg/id/update/2020-07-01-testland",'
            ' "@type": "Update", "title": "Testland"}\n' % url)


def rdfxml_with_external_entity(url: str) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY remote SYSTEM "{url}entity.xml"> ]>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n'
            '  <rdf:Description rdf:about="https://w3id.org/detention-kg/id/update/2020-07-01-testland">\n'
            '    <rdfs:label>&remote;</rdfs:label>\n  </rdf:Description>\n</rdf:RDF>\n')


def post_upload(app, name: str, text: str, pasted: bool = False):
    data = {"turtle": text, "name": name} if pasted else {"files": (io.BytesIO(text.encode("utf-8")), name)}
    return app.test_client().post("/editor/upload", headers=BEARER, data=data, content_type="multipart/form-data")


def test_a_turtle_upload_naming_the_listener_is_previewed_loaded_and_served_without_a_fetch(editor, listener):
    text = turtle_naming(listener.url)
    client = editor.test_client()
    preview = client.post("/editor/upload", headers=BEARER, content_type="multipart/form-data",
                          data={"files": (io.BytesIO(text.encode()), "2020-07-01-testland.ttl")})
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    assert "Ready to load" in preview.get_data(as_text=True)
    loaded = client.post("/editor/confirm", headers=BEARER)
    assert loaded.status_code == 302, loaded.get_data(as_text=True)[:2000]
    for path in ("/id/update/2020-07-01-testland", "/id/update/2020-07-01-testland.json",
                 "/id/update/2020-07-01-testland.ttl", "/id/update/2020-07-01-testland.jsonld",
                 "/id/country/KZ", "/", "/dumps/dataset.nq", "/.well-known/void"):
        assert client.get(path).status_code == 200, path
    listener.assert_untouched()


@pytest.mark.parametrize("pasted", [False, True], ids=["file", "pasted"])
@pytest.mark.parametrize("kind", ["jsonld-context", "rdfxml-entity"])
def test_json_ld_and_rdf_xml_uploads_are_refused_as_non_turtle_without_a_fetch(editor, listener, kind, pasted):
    make, suffix = {"jsonld-context": (jsonld_with_remote_context, ".jsonld"),
                    "rdfxml-entity": (rdfxml_with_external_entity, ".rdf")}[kind]
    text = make(listener.url)
    names = ["upload.ttl"] if pasted else [f"upload{suffix}", "upload.ttl", f"upload{suffix}.ttl"]
    for name in names:
        response = post_upload(editor, name, text, pasted=pasted)
        page = response.get_data(as_text=True)
        if name.endswith(".ttl"):  # read as Turtle: a syntax error
            assert response.status_code == 422, page[:2000]
            assert "syntax error" in page
        else:  # not even read
            assert response.status_code == 400 and "only Turtle files (.ttl) are accepted" in page
    listener.assert_untouched()


def test_drafting_from_a_source_url_does_not_fetch_it(editor, listener):
    """/editor/draft takes a source URL for the draft's dcterms:source: a name, not something to read."""
    try:
        import kg.draft  # noqa: F401
    except ImportError:
        pytest.skip("kg.draft (the drafting helper) is not part of this checkout")
    response = editor.test_client().post("/editor/draft", headers=BEARER, data={
        "text": "Testland, 1 July 2020: the government suspended new detention orders.",
        "date": "2020-07-01", "country": "country:KZ", "source": listener.url + "update"})
    assert response.status_code in (200, 302, 400, 422)
    listener.assert_untouched()


# -- kg validate and kg load ----------------------------------------------------------------------


def test_kg_validate_and_kg_load_never_fetch(listener, tmp_path, base_store):
    url = listener.url
    turtle = tmp_path / "2020-07-01-testland.ttl"
    turtle.write_text(turtle_naming(url), encoding="utf-8")
    prefix_only = tmp_path / "prefix-only.ttl"
    prefix_only.write_text(f"@prefix x: <{url}> .\nx:a x:b x:c .\n", encoding="utf-8")
    jsonld = tmp_path / "remote-context.jsonld"
    jsonld.write_text(jsonld_with_remote_context(url), encoding="utf-8")
    rdfxml = tmp_path / "entity.rdf"
    rdfxml.write_text(rdfxml_with_external_entity(url), encoding="utf-8")
    runner = CliRunner()

    for path, codes in [(turtle, (0,)), (prefix_only, (0, 1)), (jsonld, (2,)), (rdfxml, (2,))]:
        result = runner.invoke(main, ["validate", str(path)])
        assert result.exit_code in codes, result.output
    store = tmp_path / "store"
    shutil.copytree(base_store, store)
    for path in (jsonld, rdfxml):
        assert runner.invoke(main, ["load", "--store", str(store), str(path)]).exit_code == 2
    loaded = runner.invoke(main, ["load", "--store", str(store), str(turtle)])
    assert loaded.exit_code == 0, loaded.output
    assert runner.invoke(main, ["export", "--store", str(store), "--format", "jsonld"]).exit_code == 0
    listener.assert_untouched()
