"""Rendered pages are kept until the store changes (kg.web.cache), and statistics once per version
(kg.statistics): a load shows at once, content negotiation and twins stay right, and nothing
per-user or failed is kept."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from conftest import DATA, ROOT, TEST_DATA
from kg.namespaces import ID, KG, SD, VOID

UPDATE = "2020-12-11-turkey"


@pytest.fixture(scope="module")
def base_store(tmp_path_factory):
    """The ontology, the reference data and two updates, loaded once."""
    from kg.load import Loader
    from kg.store import EmbeddedStore

    path = tmp_path_factory.mktemp("cache") / "store"
    store = EmbeddedStore(path)
    Loader(store).load([ROOT / "ontology", DATA / "reference", DATA / "updates" / "2020-06-14-kazakhstan.ttl",
                        TEST_DATA / "web" / "2020-07-05-testland.ttl"])
    store.close()
    return path


@pytest.fixture
def store_path(base_store, tmp_path):
    """A copy of the base store for each test (these tests write to it)."""
    import shutil

    return shutil.copytree(base_store, tmp_path / "store")


@pytest.fixture
def app(store_path):
    from kg.web import create_app

    app = create_app({"KG_STORE": str(store_path), "TESTING": True, "KG_EDITOR_TOKEN": "t" * 32})
    yield app
    if app.extensions.get("kg_runner") is not None:
        app.extensions["kg_runner"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def load(store_path, *files):
    from kg.load import Loader
    from kg.store import EmbeddedStore

    store = EmbeddedStore(store_path)
    try:
        Loader(store).load(list(files))
    finally:
        store.close()


def cache_of(app):
    from kg.web.cache import response_cache

    with app.app_context():
        return response_cache()


def test_a_page_is_served_from_the_cache_until_a_load_changes_it(app, client, store_path):
    first = client.get("/index.json")
    assert first.get_json()["counts"]["updates"] == 2
    hits = cache_of(app).hits
    again = client.get("/index.json")
    assert again.data == first.data and cache_of(app).hits == hits + 1  # not rebuilt
    assert client.get(f"/id/update/{UPDATE}", headers={"Accept": "text/html"}).status_code == 404

    load(store_path, DATA / "updates" / f"{UPDATE}.ttl")

    after = client.get("/index.json").get_json()
    assert after["counts"]["updates"] == 3
    assert f"{ID}update/{UPDATE}" in {row["update"]["iri"] for row in after["latest"]}
    page = client.get(f"/id/update/{UPDATE}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Turkey, 11 December 2020" in page.data.decode()


def test_each_accept_header_gets_its_own_body(client):
    kz = "/id/country/KZ"
    for _ in range(2):  # the second round is served from the cache
        html = client.get(kz, headers={"Accept": "text/html"})
        turtle = client.get(kz, headers={"Accept": "text/turtle"})
        jsonld = client.get(kz, headers={"Accept": "application/ld+json"})
        twin = client.get(kz + ".json")
        assert html.mimetype == "text/html" and "<html" in html.data.decode()
        assert turtle.mimetype == "text/turtle" and jsonld.mimetype == "application/ld+json"
        assert twin.mimetype == "application/json" and twin.get_json()["kind"] == "country"
        for response, fmt in ((turtle, "turtle"), (jsonld, "json-ld")):
            graph = Graph().parse(data=response.data, format=fmt)
            assert (URIRef(f"{ID}country/KZ"), RDF.type, KG.Country) in graph
        for response in (html, turtle, jsonld):
            assert response.headers["Vary"] == "Accept"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert turtle.headers["Content-Location"] == "/id/country/KZ.ttl"
        assert len({html.data, turtle.data, jsonld.data, twin.data}) == 4


def test_the_json_twin_and_the_page_stay_apart(client):
    for _ in range(2):
        page = client.get("/countries?region=region:142", headers={"Accept": "text/html"})
        twin = client.get("/countries.json?region=region:142")
        other = client.get("/countries.json")
        assert page.mimetype == "text/html" and 'href="/countries.json?region=region:142"' in page.data.decode()
        assert [c["code"] for c in twin.get_json()["countries"]] == ["KZ"]
        assert len(other.get_json()["countries"]) == 2


def test_errors_and_editor_pages_are_not_kept(app, client):
    cache = cache_of(app)
    client.get("/index.json")
    kept = len(cache)
    assert client.get("/id/country/XX-nowhere").status_code == 404
    assert client.get("/queries/no-such-query").status_code == 404
    assert len(cache) == kept
    login = client.get("/editor/login")
    assert login.status_code in (200, 302) and len(cache) == kept
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint.startswith("editor.") or rule.endpoint == "sparql.endpoint":
            assert not getattr(view, "cached_page", False), rule


def test_statistics_follow_the_store(app, client, store_path):
    void = Graph().parse(data=client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data, format="turtle")
    sd = Graph().parse(data=client.get("/sparql", headers={"Accept": "text/turtle"}).data, format="turtle")
    dataset = URIRef(f"{ID}dataset")

    def sizes(graph):
        return {str(graph.value(s, KG.graph)): int(graph.value(s, VOID.triples)) for s in graph.objects(dataset, VOID.subset)}

    def sd_sizes(graph):
        return {str(graph.value(n, SD.name)): int(graph.value(graph.value(n, SD.graph), VOID.triples))
                for n in graph.subjects(RDF.type, SD.NamedGraph)}

    from kg.store import EmbeddedStore

    store = EmbeddedStore(store_path, read_only=True)
    counted = {str(r["g"]): int(r["n"]) for r in store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", union=False).rows}
    store.close()
    assert sizes(void) == counted == sd_sizes(sd)  # the meta graph's records agree with a count
    assert int(void.value(dataset, VOID.triples)) == sum(counted.values())

    load(store_path, DATA / "updates" / f"{UPDATE}.ttl")

    void = Graph().parse(data=client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data, format="turtle")
    sd = Graph().parse(data=client.get("/sparql", headers={"Accept": "text/turtle"}).data, format="turtle")
    graph = f"{ID}graph/update/{UPDATE}"
    assert graph in sizes(void) and graph in sd_sizes(sd)
    updates = {void.value(p, VOID["class"]): int(void.value(p, VOID.entities)) for p in void.objects(dataset, VOID.classPartition)}
    assert updates[KG.Update] == 3


@pytest.mark.parametrize("media, fmt", [("application/ld+json", "json-ld"), ("application/n-triples", "nt"),
                                        ("application/rdf+xml", "xml")])
def test_dataset_description_in_every_format(client, media, fmt):
    response = client.get("/.well-known/void", headers={"Accept": media})
    assert response.mimetype == media
    graph = Graph().parse(data=response.data, format=fmt)
    assert (URIRef(f"{ID}dataset"), RDF.type, VOID.Dataset) in graph
    if fmt == "json-ld":
        json.loads(response.data)


def test_a_new_version_warms_the_home_page_once(store_path):
    from kg.web import create_app
    from kg.web.cache import response_cache

    app = create_app({"KG_STORE": str(store_path), "TESTING": True, "KG_WARM_PAGES": True})
    try:
        client = app.test_client()
        assert client.get("/id/country/KZ.json").status_code == 200  # the first request sees the version
        with app.app_context():
            cache = response_cache()
        warmer = cache.warmer
        assert warmer is not None
        warmer.join(timeout=120)
        assert not warmer.is_alive()
        hits = cache.hits
        home = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert home.status_code == 200 and cache.hits == hits + 1  # built by the warm-up
        client.get("/id/country/KZ.json")
        assert cache.warmer is warmer  # the same version: no second warm-up
    finally:
        app.extensions["kg_runner"].close()


def test_apps_in_testing_mode_do_not_warm(app, client):
    from kg.web.cache import response_cache

    client.get("/index.json")
    with app.app_context():
        assert response_cache().warmer is None


def test_the_cache_keeps_large_bodies_compressed_and_stays_within_its_bound():
    from kg.web.cache import COMPRESS_FROM, ResponseCache

    cache = ResponseCache(max_bytes=4 * COMPRESS_FROM)
    version = (1,)
    assert cache.get(version, "a") is None
    big = b"<x/>" * COMPRESS_FROM  # 4 MB, compresses well
    cache.put(version, "a", 200, [], big)
    assert cache.get(version, "a") == (200, [], big) and cache.size < len(big) // 10
    for n in range(8):  # small bodies push the oldest out
        cache.put(version, n, 200, [], bytes(COMPRESS_FROM - 1))
    assert cache.size <= cache.max_bytes and cache.get(version, "a") is None and cache.get(version, 7) is not None
    assert cache.get((2,), 7) is None and len(cache) == 0  # another version: everything dropped
