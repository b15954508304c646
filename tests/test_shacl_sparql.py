"""The SHACL shapes compiled into SPARQL (kg.shacl_sparql) find what pyshacl finds, file by file.

For every fixture — tests/data/shapes/*/*.ttl, tests/data/load/*.ttl, tests/data/bulk/edge-*.ttl
and data/updates/*.ttl — both are given the same data graph (the file, the ontology, the SKOS
schemes, the reference data and the updates the fixture may point at) and must report the same
set of (focus node, path, constraint component, value). The compiled checks run once per
folder, every file of it in its own named graph of one staging store, as the bulk loader runs
them, so the agreement also shows that a file never sees another file's triples.

The reference is pyshacl with the file's own subjects as focus nodes, as ``kg validate`` asks.
Where pyshacl 0.40's ``focus_nodes`` mode is wrong — shapes applied to value nodes (sh:node,
sh:or… under a path) are skipped for values outside the focus list, and blank-node focus nodes
raise a TypeError — it validates the whole data graph instead, and the results on the file's
subjects are kept.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pyshacl
import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, RDFS, SH

from kg.namespaces import KG
from kg.shacl_sparql import CONTEXT_GRAPH, Path as ShPath, UnsupportedShape, compile_shapes, subclass_closure
from kg.store.embedded import to_rdflib
from kg.validate import Validator, declared_updates

from conftest import DATA, ROOT, TEST_DATA

#: Updates the shape fixtures point at without declaring them (as in tests/test_shapes.py).
KNOWN_UPDATES = {"https://w3id.org/detention-kg/id/update/2020-06-30-otherland"}

FIXTURES = sorted(
    [
        *(TEST_DATA / "shapes").glob("*/*.ttl"),
        *(TEST_DATA / "load").glob("*.ttl"),
        *(TEST_DATA / "bulk").glob("edge-*.ttl"),
        *(DATA / "updates").glob("*.ttl"),
    ]
)


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def setup():
    validator = Validator(known_updates=[])
    context = pyoxigraph.Store()
    for path in sorted([*(ROOT / "ontology").glob("*.ttl"), *(DATA / "reference").glob("*.ttl")]):
        context.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE, to_graph=pyoxigraph.NamedNode(CONTEXT_GRAPH))
    edges = [
        (r["s"].value, r["o"].value)
        for r in context.query(f"SELECT ?s ?o WHERE {{ GRAPH <{CONTEXT_GRAPH}> {{ ?s <{RDFS.subClassOf}> ?o }} }}")
    ]
    compiled = compile_shapes(validator.shapes, subclass_closure(edges))
    return validator, list(context), compiled


def known_updates(path: Path) -> set[str]:
    return declared_updates(sorted(path.parent.glob("*.ttl"))) | KNOWN_UPDATES


def _key(graph: Graph, term) -> str | None:
    """A term as comparable text; a blank node by where its parent points at it."""
    if term is None:
        return None
    if isinstance(term, BNode):
        return "_:" + min((f"{s}|{p}" for s, p in graph.subject_predicates(term)), default="")
    return term.n3()


def _focus_mode_is_exact(shapes: Graph) -> bool:
    """pyshacl's focus_nodes mode skips shapes applied to value nodes (sh:node, sh:or… under a path)."""
    logical = (SH.node, SH["or"], SH["and"], SH["not"], SH.xone)
    return not any((shape, SH.path, None) in shapes for p in logical for shape in shapes.subjects(p, None))


def pyshacl_results(path: Path, shapes: Graph, context: Graph, known: set[str]) -> set[tuple]:
    file_graph = Graph().parse(path, format="turtle")
    data = Graph()
    data += context
    data += file_graph
    for update in known:
        data.add((URIRef(update), RDF.type, KG.Update))
    subjects = set(file_graph.subjects())
    options = {}
    if _focus_mode_is_exact(shapes) and all(isinstance(s, URIRef) for s in subjects):
        options["focus_nodes"] = list(subjects)  # as kg validate asks; faster than the whole graph
    _, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", inplace=True, allow_warnings=True, allow_infos=True, **options
    )
    found = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if (None, SH.detail, result) in report:  # the inner results of sh:node, not results of their own
            continue
        focus = report.value(result, SH.focusNode)
        if focus not in subjects:
            continue
        p = report.value(result, SH.resultPath)
        if isinstance(p, BNode):
            p = ShPath(str(report.value(p, SH.inversePath)), inverse=True)
        elif p is not None:
            p = ShPath(str(p))
        component = str(report.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[-1]
        found.add((_key(file_graph, focus), p, component, _key(file_graph, report.value(result, SH.value))))
    return found


def compiled_results(paths: list[Path], context_quads, compiled, known: set[str]) -> dict[Path, set[tuple]]:
    """The compiled checks run once over all PATHS, each file in its own graph (as the bulk loader stages them)."""
    store = pyoxigraph.Store()
    store.extend(context_quads)
    context = pyoxigraph.NamedNode(CONTEXT_GRAPH)
    rdf_type, update = pyoxigraph.NamedNode(str(RDF.type)), pyoxigraph.NamedNode(str(KG.Update))
    store.extend(pyoxigraph.Quad(pyoxigraph.NamedNode(u), rdf_type, update, context) for u in known)
    graphs, file_graphs = {}, {}
    for i, path in enumerate(paths):
        graph = pyoxigraph.NamedNode(f"urn:kg:staging:file:{i}")
        store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE, to_graph=graph)
        file_graph = Graph()
        for q in store.quads_for_pattern(None, None, None, graph):
            file_graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        graphs[graph.value], file_graphs[path] = path, file_graph
    found: dict[Path, set[tuple]] = {path: set() for path in paths}
    for v in compiled.run(store):
        path = graphs[v.graph.value]
        value = to_rdflib(v.value) if v.value is not None else None
        g = file_graphs[path]
        found[path].add((_key(g, to_rdflib(v.focus)), v.check.path, v.check.component, _key(g, value)))
    return found


_BY_FOLDER: dict[Path, dict[Path, set[tuple]]] = {}


def compiled_results_of(path: Path, context_quads, compiled) -> set[tuple]:
    """The compiled results for PATH, from one run over every fixture of its folder."""
    folder = path.parent
    if folder not in _BY_FOLDER:
        siblings = [p for p in FIXTURES if p.parent == folder]
        _BY_FOLDER[folder] = compiled_results(siblings, context_quads, compiled, known_updates(path))
    return _BY_FOLDER[folder][path]


def test_there_are_fixtures_of_every_kind():
    kinds = {p.parent.name for p in FIXTURES}
    assert {"load", "bulk", "updates"} <= kinds
    assert len(FIXTURES) >= 10


@pytest.mark.parametrize("path", FIXTURES, ids=_id)
def test_compiled_checks_agree_with_pyshacl(setup, path):
    validator, context_quads, compiled = setup
    known = known_updates(path)
    expected = pyshacl_results(path, validator.shapes, validator.context, known)
    found = compiled_results_of(path, context_quads, compiled)
    assert found == expected, f"only pyshacl: {sorted(expected - found, key=str)}; only compiled: {sorted(found - expected, key=str)}"


def test_violating_fixtures_do_violate(setup):
    """The agreement above is not the agreement of two empty sets."""
    validator, context_quads, compiled = setup
    for path in [*(TEST_DATA / "bulk").glob("edge-*.ttl"), TEST_DATA / "load" / "bad-status.ttl"]:
        assert compiled_results([path], context_quads, compiled, known_updates(path))[path], path


# -- generic over the shapes graph: components shapes.ttl does not use ------------------------

EXTRA_SHAPES = TEST_DATA / "bulk" / "extra-shapes.ttl"
EXTRA_DATA = TEST_DATA / "bulk" / "extra-data.ttl"


def test_other_core_components_agree_with_pyshacl(setup):
    """hasValue, max/exclusive bounds, lengths, node, not, and, xone, equals, disjoint, lessThan,
    and targetNode / targetSubjectsOf / targetObjectsOf, on a shapes graph of their own."""
    validator, context_quads, _ = setup
    shapes = Graph().parse(EXTRA_SHAPES, format="turtle")
    edges = [(s, o) for s, o in validator.context.subject_objects(RDFS.subClassOf)]
    compiled = compile_shapes(shapes, subclass_closure(edges))
    expected = pyshacl_results(EXTRA_DATA, shapes, validator.context, set())
    found = compiled_results([EXTRA_DATA], context_quads, compiled, set())[EXTRA_DATA]
    assert found == expected, f"only pyshacl: {sorted(expected - found, key=str)}; only compiled: {sorted(found - expected, key=str)}"
    assert {c for _, _, c, _ in found} >= {
        "HasValueConstraintComponent", "MaxInclusiveConstraintComponent", "MinLengthConstraintComponent",
        "NodeConstraintComponent", "NotConstraintComponent", "XoneConstraintComponent", "EqualsConstraintComponent",
        "DisjointConstraintComponent", "LessThanConstraintComponent", "MinExclusiveConstraintComponent",
        "MaxLengthConstraintComponent", "AndConstraintComponent",
    }


def test_unsupported_shapes_are_refused_not_skipped():
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ;
            sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ] .
        """,
        format="turtle",
    )
    with pytest.raises(UnsupportedShape, match="path"):
        compile_shapes(shapes, subclass_closure([]))
    shapes = Graph().parse(
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .
        """,
        format="turtle",
    )
    with pytest.raises(UnsupportedShape, match="closed"):
        compile_shapes(shapes, subclass_closure([]))


def test_each_file_sees_only_its_own_graph_and_the_context(setup):
    """Two files may describe one resource differently; each is checked with its own triples."""
    _, context_quads, compiled = setup
    store = pyoxigraph.Store()
    store.extend(context_quads)
    template = """
        @prefix kg: <https://w3id.org/detention-kg/def/> . @prefix pt: <https://w3id.org/detention-kg/def/place-type/> .
        @prefix place: <https://w3id.org/detention-kg/id/place/> . @prefix country: <https://w3id.org/detention-kg/id/country/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        place:kz-shared a kg:Place ; rdfs:label "Shared"@en ; kg:placeType pt:city ; kg:country country:{cc} .
    """
    for i, cc in enumerate(["KZ", "UZ"]):
        store.load(input=template.replace("{cc}", cc).encode(), format=pyoxigraph.RdfFormat.TURTLE,
                   to_graph=pyoxigraph.NamedNode(f"urn:kg:staging:file:{i}"))
    assert list(compiled.run(store)) == []  # together they would break sh:maxCount 1 on kg:country
