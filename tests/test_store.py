"""The Store interface, run against both implementations: embedded Oxigraph and `oxigraph serve`."""

from __future__ import annotations

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD

from kg.store import META_GRAPH, StoreError
from kg.sparql import QueryTextError

EX = "http://example.org/"
G1 = "https://w3id.org/detention-kg/id/graph/update/2020-01-01-a"
G2 = "https://w3id.org/detention-kg/id/graph/update/2020-01-02-b"


def t(s, p, o):
    return (URIRef(EX + s), URIRef(EX + p), o if isinstance(o, (Literal, URIRef)) else URIRef(EX + o))


VERSION_A = {
    t("a", "label", Literal("Kazakhstan", lang="en")),
    t("a", "count", Literal(9)),
    t("a", "date", Literal("2020-06-14", datatype=XSD.date)),
    t("a", "note", Literal('quotes " and \\ and\nnew lines')),
    t("a", "link", "b"),
}
VERSION_B = (VERSION_A - {t("a", "count", Literal(9))}) | {t("a", "count", Literal(10)), t("a", "extra", "c")}


def test_replace_graph_counts_what_changed_and_bumps_the_version(store):
    assert store.version() == 0
    first = store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    assert (first.added, first.removed, first.triples, first.unchanged) == (5, 0, 5, False)
    assert store.version() == 1
    second = store.replace_graph(G1, VERSION_B, file="a.ttl", sha256="b" * 64)
    assert (second.added, second.removed, second.triples) == (2, 1, 6)
    assert store.version() == 2
    assert store.graph_triples(G1) == VERSION_B


def test_reloading_the_same_file_is_a_no_op(store):
    store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    again = store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    assert again.unchanged and again.added == again.removed == 0
    assert store.version() == 1
    assert len(store.history(G1)) == 1


def test_graphs_lists_provenance_and_history_keeps_every_load(store):
    store.replace_graph(G1, VERSION_A, file="data/a.ttl", sha256="a" * 64)
    store.replace_graph(G2, {t("x", "p", "y")}, file="data/b.ttl", sha256="c" * 64)
    store.replace_graph(G1, VERSION_B, file="data/a.ttl", sha256="b" * 64)
    infos = {info.iri: info for info in store.graphs()}
    assert set(infos) == {G1, G2}
    assert (infos[G1].triples, infos[G1].file, infos[G1].sha256) == (6, "data/a.ttl", "b" * 64)
    assert infos[G1].loaded and infos[G1].load.startswith("https://w3id.org/detention-kg/id/load/")
    records = store.history(G1)
    assert [(r.action, r.added, r.removed, r.triples, r.sha256) for r in records] == [
        ("load", 5, 0, 5, "a" * 64),
        ("load", 2, 1, 6, "b" * 64),
    ]
    assert len(store.history()) == 3


def test_drop_graph_removes_it_and_records_the_unload(store):
    store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    outcome = store.drop_graph(G1)
    assert outcome.removed == 5
    assert store.graph_triples(G1) == set()
    assert store.graphs() == []
    assert [r.action for r in store.history(G1)] == ["load", "unload"]
    with pytest.raises(StoreError, match="has no graph"):
        store.drop_graph(G1)


def test_queries_see_the_union_of_graphs_and_bind_terms(store):
    store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    store.replace_graph(G2, {t("b", "label", Literal("Uzbekistan", lang="en"))}, file="b.ttl", sha256="c" * 64)
    result = store.query("SELECT ?s ?label WHERE { ?s <http://example.org/label> ?label } ORDER BY ?label")
    assert [str(r["label"]) for r in result.rows] == ["Kazakhstan", "Uzbekistan"]
    bound = store.query(
        "SELECT ?label WHERE { ?s <http://example.org/label> ?label }", {"s": URIRef(EX + "b")}
    )
    assert [r["label"] for r in bound.rows] == [Literal("Uzbekistan", lang="en")]
    ask = store.query("ASK { ?s ?p ?o }")
    assert ask.kind == "ask" and ask.boolean is True
    graph = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", {"s": URIRef(EX + "b")})
    assert graph.kind == "graph" and len(graph.triples) == 1


def test_terms_round_trip_with_datatypes_and_languages(store):
    store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    rows = store.query("SELECT ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": URIRef(G1)}, union=False).rows
    assert {(r["p"], r["o"]) for r in rows} == {(p, o) for _, p, o in VERSION_A}


def test_a_bound_literal_is_data_not_query_text(store):
    store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    hostile = Literal('x" } ; DROP ALL ; SELECT * WHERE { ?s ?p "')
    result = store.query("SELECT ?s WHERE { ?s <http://example.org/label> ?label }", {"label": hostile})
    assert result.rows == []
    assert store.graph_triples(G1) == VERSION_A


def test_an_iri_that_would_break_out_of_its_brackets_is_refused(store):
    with pytest.raises(QueryTextError, match="not a valid IRI"):
        store.query("SELECT ?p WHERE { ?s ?p ?o }", {"s": URIRef("http://example.org/> } ; DROP ALL ; #")})


@pytest.mark.parametrize("fmt", ["trig", "nquads", "turtle", "jsonld"])
def test_dumps_parse_back_to_the_same_data(store, fmt):
    store.replace_graph(G1, VERSION_A, file="a.ttl", sha256="a" * 64)
    store.replace_graph(G2, {t("x", "p", "y")}, file="b.ttl", sha256="c" * 64)
    whole = store.dump(fmt)
    if fmt in ("trig", "nquads", "jsonld"):
        dataset = Dataset()
        dataset.parse(data=whole, format={"trig": "trig", "nquads": "nquads", "jsonld": "json-ld"}[fmt])
        assert set(dataset.graph(URIRef(G1))) == VERSION_A
        assert len(dataset.graph(META_GRAPH)) > 0
    else:
        assert VERSION_A <= set(Graph().parse(data=whole, format="turtle"))
    one = Graph().parse(data=store.dump("turtle", G1), format="turtle")
    assert set(one) == VERSION_A


def test_a_malformed_query_gives_a_clear_error(store):
    with pytest.raises(StoreError):
        store.query("SELECT ?s WHERE { ?s ?p }")
