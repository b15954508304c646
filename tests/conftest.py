"""Shared fixtures: project paths, a validator, and the curated data in a real embedded store."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pytest

from kg.namespaces import sparql_prologue
from kg.validate import Validator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def validator() -> Validator:
    """A validator over the project's ontology, shapes and reference data (built once)."""
    return Validator()


@pytest.fixture(scope="session")
def curated_store() -> pyoxigraph.Store:
    """An in-memory Oxigraph store holding the ontology, the schemes and everything in data/."""
    store = pyoxigraph.Store()
    for path in sorted([*ROOT.glob("ontology/*.ttl"), *DATA.rglob("*.ttl")]):
        graph = pyoxigraph.NamedNode(path.resolve().as_uri())
        store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE, to_graph=graph)
    return store


@pytest.fixture(scope="session")
def select(curated_store):
    """Run a SELECT over the union of all graphs; rows as dicts of plain Python values.

    Keyword arguments are bound as RDF terms (Oxigraph substitutions, SEP-0007: a bound
    variable must be projected); bound variables are left out of the returned rows.
    """

    def run(query: str, **bindings) -> list[dict]:
        substitutions = {pyoxigraph.Variable(k): v for k, v in bindings.items()}
        results = curated_store.query(
            sparql_prologue() + query, use_default_graph_as_union=True, substitutions=substitutions
        )
        names = [v.value for v in results.variables if v.value not in bindings]
        return [{n: _plain(row[n]) for n in names} for row in results]

    return run


def _plain(term):
    if term is None:
        return None
    if isinstance(term, pyoxigraph.Literal):
        datatype = term.datatype.value.rsplit("#", 1)[-1]
        if datatype in ("integer", "int", "long"):
            return int(term.value)
        if datatype in ("decimal", "double", "float"):
            return float(term.value)
        if datatype == "boolean":
            return term.value == "true"
        return term.value
    return term.value


@pytest.fixture(scope="session")
def oxigraph_url():
    """A real `oxigraph serve` process on loopback for the whole session (its base URL)."""
    from servers import oxigraph_serve

    with oxigraph_serve() as base:
        yield base


@pytest.fixture(scope="session")
def virtuoso():
    """A real Virtuoso (generated virtuoso.ini, loopback only, temporary folder) for the whole session.

    Its row cap (ResultSetMaxRows) is small, so that the store tests that read more rows
    (dumps, history, graph lists) go through the remote store's paging."""
    from servers import SESSION_VIRTUOSO_MAX_ROWS, virtuoso_serve

    with virtuoso_serve(max_rows=SESSION_VIRTUOSO_MAX_ROWS) as server:
        yield server


@pytest.fixture(params=["embedded", "remote", "virtuoso"])
def store(request, tmp_path):
    """An empty store of each implementation: embedded on disk, `oxigraph serve` and Virtuoso over HTTP."""
    from kg.store import EmbeddedStore, RemoteStore

    if request.param == "embedded":
        store = EmbeddedStore(tmp_path / "store")
    elif request.param == "virtuoso":
        server = request.getfixturevalue("virtuoso")
        server.clear()
        store = server.store()
    else:
        base = request.getfixturevalue("oxigraph_url")
        store = RemoteStore(f"{base}/query", f"{base}/update")
        store._update("DROP ALL")
    yield store
    store.close()


WEB_FILES = [
    ROOT / "ontology",
    DATA / "reference",
    *(DATA / "updates" / f"{slug}.ttl" for slug in (
        "2020-06-14-kazakhstan", "2020-06-10-germany", "2020-06-02-lebanon", "2020-05-26-south-africa")),
    *sorted((TEST_DATA / "web").glob("*.ttl")),  # a hostile-markup update and two research fixtures
]


@pytest.fixture(scope="session")
def web_store(tmp_path_factory):
    """An embedded store with the ontology, the reference data, the seed and the updates it cites,
    and a test update whose literals carry hostile markup."""
    from kg.load import Loader
    from kg.store import EmbeddedStore

    path = tmp_path_factory.mktemp("web") / "store"
    store = EmbeddedStore(path)
    Loader(store).load(WEB_FILES)
    store.close()
    return path


@pytest.fixture(scope="session")
def app(web_store):
    from kg.web import create_app

    app = create_app({"KG_STORE": str(web_store), "TESTING": True})
    yield app
    if app.extensions.get("kg_runner") is not None:
        app.extensions["kg_runner"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP on 127.0.0.1 (a real server, in a thread); yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
