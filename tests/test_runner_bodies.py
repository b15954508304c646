"""The query runner's two paths: result bodies written by the query worker (the /sparql endpoint)
and rdflib terms (pages), the row cap on both, and the page-result cache looked up first.

The bodies are compared with what the rdflib path and kg.results write for the same query on the
web fixture store (conftest's web_store), format by format, for meaning: JSON as parsed objects,
XML and TSV as terms, CSV as strings.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from rdflib import Literal, URIRef
from rdflib.util import from_n3

from kg import sparql
from kg.results import to_csv, to_json, to_xml
from kg.runner import BODY_FORMATS, Limits, QueryRefused, QueryRunner, ResultBody
from kg.store.base import QueryResult

PREFIX = (
    "PREFIX kg: <https://w3id.org/detention-kg/def/>\nPREFIX dcterms: <http://purl.org/dc/terms/>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
# Typed and language-tagged literals, IRIs and unbound values (OPTIONAL), from the fixture data.
UPDATES = PREFIX + """SELECT ?u ?date ?title ?note WHERE {
  ?u a kg:Update ; dcterms:issued ?date . OPTIONAL { ?u dcterms:title ?title } OPTIONAL { ?u kg:nope ?note }
} ORDER BY ?u"""
# Every literal of the fixture graph with hostile markup, and every triple of one update.
HOSTILE = """SELECT ?s ?p ?o WHERE {
  GRAPH <https://w3id.org/detention-kg/id/graph/update/2020-07-05-testland> { ?s ?p ?o } FILTER(!isBlank(?s) && !isBlank(?o))
} ORDER BY ?s ?p ?o"""
# Numbers, booleans, language tags and texts that look like the row marks the worker counts.
ODD_VALUES = r"""SELECT ?x ?y WHERE {
  VALUES (?x ?y) { (1 "a},{b") (1.5 "line\r\nbreak, \"quoted\"") (1.0e3 "tab\there") (true "<result>x</result>"@en)
                   ("2020-01-01"^^<http://www.w3.org/2001/XMLSchema#date> UNDEF) (<http://example.org/a?b=c&d> "}},{}") }
}"""
QUERIES = {"updates": UPDATES, "hostile": HOSTILE, "odd-values": ODD_VALUES}


@pytest.fixture(scope="module")
def runner(web_store):
    runner = QueryRunner(None, Limits(timeout=30, max_rows=1000, workers=1), store_path=web_store)
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def small_cap(web_store):
    runner = QueryRunner(None, Limits(timeout=30, max_rows=3, workers=1), store_path=web_store)
    yield runner
    runner.close()


# -- reading each format back as terms --------------------------------------------------------------


def rows_from(body: bytes, fmt: str) -> tuple[list[str], list[dict]]:
    """(variables, rows as {name: rdflib term or CSV string}) from a SPARQL results body."""
    text = body.decode("utf-8")
    if fmt == "json":
        data = json.loads(text)
        rows = []
        for binding in data["results"]["bindings"]:
            row = {}
            for name, term in binding.items():
                if term["type"] == "uri":
                    row[name] = URIRef(term["value"])
                elif term["type"] == "bnode":
                    row[name] = ("bnode", term["value"])
                else:
                    row[name] = Literal(term["value"], lang=term.get("xml:lang"),
                                        datatype=term.get("datatype"))
            rows.append(row)
        return data["head"]["vars"], rows
    if fmt == "xml":
        ns = "{http://www.w3.org/2005/sparql-results#}"
        root = ET.fromstring(text)
        names = [v.get("name") for v in root.iter(ns + "variable")]
        rows = []
        for result in root.iter(ns + "result"):
            row = {}
            for binding in result.findall(ns + "binding"):
                (term,) = list(binding)
                if term.tag == ns + "uri":
                    row[binding.get("name")] = URIRef(term.text)
                elif term.tag == ns + "bnode":
                    row[binding.get("name")] = ("bnode", term.text)
                else:
                    row[binding.get("name")] = Literal(
                        term.text or "", lang=term.get("{http://www.w3.org/XML/1998/namespace}lang"),
                        datatype=term.get("datatype"))
            rows.append(row)
        return names, rows
    if fmt == "csv":
        lines = list(csv.reader(io.StringIO(text, newline="")))
        names = lines[0]
        return names, [{n: v for n, v in zip(names, line) if v != ""} for line in lines[1:]]
    lines = text.split("\n")
    assert lines[-1] == "", "a TSV body ends with a line break"
    names = [n[1:] for n in lines[0].split("\t")]
    rows = [{n: from_n3(v) for n, v in zip(names, line.split("\t")) if v != ""} for line in lines[1:-1]]
    return names, rows


def old_body(result: QueryResult, fmt: str) -> bytes:
    """What the endpoint wrote before the worker wrote bodies: rdflib terms through kg.results."""
    return {"json": to_json, "xml": to_xml, "csv": to_csv, "tsv": lambda r: to_csv(r, "\t")}[fmt](result).encode()


# -- the worker's bodies mean what the rdflib path meant --------------------------------------------


@pytest.mark.parametrize("fmt", BODY_FORMATS)
@pytest.mark.parametrize("name", ["updates", "hostile"])
def test_a_body_means_what_the_rdflib_path_wrote(runner, name, fmt):
    query = QUERIES[name]
    body = runner.run(query, serialize=fmt)
    terms = runner.run(query)
    assert isinstance(body, ResultBody) and body.kind == "select" and not body.truncated
    assert len(terms.rows) >= 2
    assert rows_from(body.body, fmt) == rows_from(old_body(terms, fmt), fmt)
    if fmt == "json":  # the document itself, not only the rows
        assert json.loads(body.body) == json.loads(to_json(terms))


def odd_values_reference(runner, fmt: str) -> list[dict]:
    """The rows ODD_VALUES should give in FMT, read as rows_from reads them.

    JSON and XML: what the rdflib path wrote (XML parsers read a line break "\\r\\n" in text as
    "\\n", in both bodies alike). CSV: the values of the JSON body; the rdflib path rewrote
    "1000"^^xsd:double as 1000.0. TSV: the terms of the JSON body, since the rdflib path wrote a
    line break or a tab inside a literal as it is, which split the row."""
    if fmt in ("json", "xml"):
        return rows_from(old_body(runner.run(ODD_VALUES), fmt), fmt)[1]
    document = json.loads(runner.run(ODD_VALUES, serialize="json").body)
    if fmt == "csv":
        return [{n: t["value"] for n, t in row.items()} for row in document["results"]["bindings"]]
    return rows_from(runner.run(ODD_VALUES, serialize="json").body, "json")[1]


@pytest.mark.parametrize("fmt", BODY_FORMATS)
def test_odd_values_mean_the_same_in_every_format(runner, fmt):
    """Numbers, booleans, tabs, line breaks, quotes, and values that look like row marks."""
    names, rows = rows_from(runner.run(ODD_VALUES, serialize=fmt).body, fmt)
    assert names == ["x", "y"] and len(rows) == 6
    assert rows == odd_values_reference(runner, fmt)


def test_the_fixture_answers_hold_what_the_comparison_is_about(runner):
    """The queries above do reach typed and tagged literals, unbound values and hostile text."""
    rows = runner.run(UPDATES).rows
    assert any("note" not in row for row in rows) and any(row.get("title") is not None for row in rows)
    assert any(isinstance(row["title"], Literal) and row["title"].language for row in rows if "title" in row)
    hostile = " ".join(str(row["o"]) for row in runner.run(HOSTILE).rows)
    assert "<" in hostile and "&" in hostile or '"' in hostile


@pytest.mark.parametrize("fmt", BODY_FORMATS)
def test_ask_bodies_are_written_as_before(runner, fmt):
    for ask in (PREFIX + "ASK { ?u a kg:Update }", PREFIX + "ASK { ?u a kg:NoSuchClass }"):
        body = runner.run(ask, serialize=fmt)
        assert isinstance(body, ResultBody) and body.kind == "ask"
        assert body.body == old_body(runner.run(ask), fmt)


def test_construct_still_comes_back_as_terms(runner):
    result = runner.run(PREFIX + "CONSTRUCT { ?u a kg:Update } WHERE { ?u a kg:Update }", serialize="json")
    assert isinstance(result, QueryResult) and result.kind == "graph" and len(result.triples) >= 2


# -- the row cap ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", BODY_FORMATS)
def test_row_cap_cuts_each_format_after_exactly_the_cap(runner, small_cap, fmt):
    full = runner.run(UPDATES, serialize=fmt)
    _, all_rows = rows_from(full.body, fmt)
    assert len(all_rows) > 3
    cut = small_cap.run(UPDATES, serialize=fmt)
    names, rows = rows_from(cut.body, fmt)
    assert cut.truncated and names == ["u", "date", "title", "note"]
    assert rows == all_rows[:3]
    if fmt == "json":
        assert json.loads(cut.body)["head"]["link"] == ["#truncated"]
    terms = small_cap.run(UPDATES)  # the rdflib path cuts at the same place
    assert terms.truncated
    assert [str(r["u"]) for r in terms.rows] == [str(r["u"]) for r in rows]


@pytest.mark.parametrize("fmt", BODY_FORMATS)
def test_an_answer_of_exactly_the_cap_is_not_truncated(small_cap, fmt):
    for limit, truncated in ((3, False), (4, True)):
        result = small_cap.run(UPDATES + f" LIMIT {limit}", serialize=fmt)
        assert result.truncated is truncated
        assert len(rows_from(result.body, fmt)[1]) == 3


@pytest.mark.parametrize("fmt", BODY_FORMATS)
def test_values_that_look_like_row_marks_do_not_cut_an_answer_within_the_cap(runner, web_store, fmt):
    """"},{" in JSON strings and line breaks in CSV values count as row marks while the body is
    written; an answer of exactly the cap must still come back whole and not marked truncated."""
    capped = QueryRunner(None, Limits(timeout=30, max_rows=6, workers=1), store_path=web_store)
    try:
        result = capped.run(ODD_VALUES, serialize=fmt)
    finally:
        capped.close()
    assert not result.truncated
    names, rows = rows_from(result.body, fmt)
    assert len(rows) == 6 and rows == odd_values_reference(runner, fmt)


def test_a_huge_answer_is_cut_without_being_produced_whole(small_cap):
    """Every quad of the store against every other would be billions of rows: the cap stops it."""
    for fmt in BODY_FORMATS:
        result = small_cap.run("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", serialize=fmt)
        assert result.truncated and len(rows_from(result.body, fmt)[1]) == 3


# -- checks on every path -----------------------------------------------------------------------


REFUSED = [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",  # escape hides the keyword
    "SELECT * WHERE { BIND(<http://x/\\u0041#> AS ?x) SERVICE SILENT <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * FROM <http://127.0.0.1:9/g> WHERE { ?s ?p ?o }",
    "LOAD <http://127.0.0.1:9/data.ttl>",
]


@pytest.mark.parametrize("query", REFUSED)
def test_refusals_hold_on_the_body_path_and_the_cached_path(runner, query):
    for _ in range(2):  # the second time, with the text functions' memo warm
        with pytest.raises(QueryRefused):
            runner.run(query, serialize="json")
        with pytest.raises(QueryRefused):
            runner.run(query, cached=True)


def test_a_long_query_past_the_memo_limit_is_still_checked(runner):
    padding = "# " + "x" * sparql.MEMO_MAX_CHARS + "\n"
    with pytest.raises(QueryRefused, match="SERVICE"):
        runner.run(padding + REFUSED[0], serialize="json")
    assert runner.run(padding + UPDATES, serialize="json").body == runner.run(UPDATES, serialize="json").body


def test_the_one_pass_shape_agrees_with_the_tokens(runner):
    text = PREFIX + "PREFIX g: <https://w3id.org/detention-kg/id/graph/>\n# SERVICE in a comment\n" \
        "SELECT ?s FROM g:a FROM NAMED <https://x/b> WHERE { ?s ?p \"SERVICE\" . { ( ?s ) } }"
    shape = sparql.query_shape(text)
    assert shape.form == "SELECT" and not shape.service and shape.nesting == 3
    assert shape.graphs == ("https://w3id.org/detention-kg/id/graph/a", "https://x/b")
    assert sparql.referenced_graphs(text) == list(shape.graphs)


# -- the page cache is looked up first ---------------------------------------------------------------


def test_a_cached_page_query_skips_the_checks_and_stays_right(runner):
    query = PREFIX + "SELECT ?u WHERE { ?u a kg:Update ; kg:country ?c } ORDER BY ?u"
    country = URIRef("https://w3id.org/detention-kg/id/country/KZ")
    first = runner.run(query, {"c": country}, cached=True)
    assert [str(r["u"]) for r in first.rows] == ["https://w3id.org/detention-kg/id/update/2020-06-14-kazakhstan"]
    calls = sparql.unescape_codepoints.cache_info(), sparql.query_shape.cache_info(), sparql.where_group_start.cache_info()
    again = runner.run(query, {"c": country}, cached=True)
    assert again is first  # from the cache, with no text function called (their counters did not move)
    assert (sparql.unescape_codepoints.cache_info(), sparql.query_shape.cache_info(),
            sparql.where_group_start.cache_info()) == calls
    other = runner.run(query, {"c": URIRef("https://w3id.org/detention-kg/id/country/DE")}, cached=True)
    assert other is not first and [str(r["u"]) for r in other.rows] != [str(r["u"]) for r in first.rows]


def test_a_bad_binding_is_refused_every_time_not_cached(runner):
    query = PREFIX + "SELECT ?u WHERE { ?u a kg:Update ; kg:country ?c }"
    for _ in range(2):
        with pytest.raises(sparql.QueryTextError):
            runner.run(query, {"c": URIRef("http://x/> } SERVICE <http://127.0.0.1:9/> { ?s ?p ?o")}, cached=True)


def test_from_may_name_any_graph_of_the_store_even_past_the_row_cap(runner, small_cap):
    """A store holds a graph per update, more than the row cap lets a listing return: FROM is
    checked by asking about the graphs it names, not by listing them all."""
    graphs = sorted(str(r["g"]) for r in runner.run("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }").rows)
    assert len(graphs) > 3, "the fixture should hold more graphs than small_cap's row cap"
    for graph in (graphs[0], graphs[-1]):
        result = small_cap.run(f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}")
        assert int(result.rows[0]["n"]) > 0
    froms = "".join(f"FROM <{g}>\n" for g in graphs[:5])  # more graphs than the row cap, in one query
    assert int(small_cap.run(f"SELECT (COUNT(*) AS ?n) {froms}WHERE {{ ?s ?p ?o }}").rows[0]["n"]) > 0
    with pytest.raises(QueryRefused, match="may only name graphs of this store"):
        small_cap.run(f"SELECT * FROM <{graphs[-1]}-not-there> WHERE {{ ?s ?p ?o }}")
    with pytest.raises(QueryRefused, match="may only name graphs of this store"):
        small_cap.run("SELECT * WHERE { ?s ?p ?o }", default_graphs=["http://127.0.0.1:9/x y"])


def test_concurrent_requests_for_one_uncached_page_query_run_it_once(web_store):
    """Visitors asking at once for the same page query wait for one run instead of each running it."""
    import threading

    runner = QueryRunner(None, Limits(timeout=30, max_rows=1000, workers=2), store_path=web_store)
    runs, real_run = [], runner._checked_run

    def counted(*args):
        runs.append(args[0])
        return real_run(*args)

    runner._checked_run = counted  # the real method, counted
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . FILTER(?p = ?q) }"  # a second or so
    start, answers = threading.Barrier(6), []

    def visit():
        start.wait()
        answers.append(int(runner.run(query, cached=True).rows[0]["n"]))

    try:
        threads = [threading.Thread(target=visit) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        runner.close()
    assert len(answers) == 6 and len(set(answers)) == 1 and answers[0] > 0
    assert len(runs) == 1, f"the query ran {len(runs)} times for 6 concurrent requests"
