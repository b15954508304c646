"""Every shape has a conforming and a violating example, and every broken constraint is reported.

For each node shape of shapes/shapes.ttl that has an ``sh:targetClass`` there are two fixtures
under tests/data/shapes/<ShapeLocalName>/: ``conforms.ttl`` (no problem) and ``violates.ttl``,
whose every broken line carries a comment naming the constraint it breaks. The problems the
validator reports for ``violates.ttl`` are compared with an explicit list of
(line, path, constraint, shape) tuples per shape.

Fixtures only describe the resources under test (plus the minimal update they are reported
in); updates they merely point at are passed to the validator as ``known_updates``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SH, SKOS

from kg.namespaces import SHAPES
from kg.validate import Validator, format_human

ROOT = Path(__file__).resolve().parents[1]
SHAPES_FILE = ROOT / "shapes" / "shapes.ttl"
FIXTURES = Path(__file__).resolve().parent / "data" / "shapes"

#: Triples of a node shape that are not constraints on the node itself.
_NON_CONSTRAINTS = {
    RDF.type, SH.targetClass, SH.property, SH.message, RDFS.label, RDFS.comment, SH.name, SH.description
}

#: Updates the fixtures point at without declaring them (kg:target, dcterms:references).
KNOWN_UPDATES = ["https://w3id.org/detention-kg/id/update/2020-06-30-otherland"]

_SHAPES_GRAPH = Graph().parse(SHAPES_FILE, format="turtle")
#: Every node shape with a target, by local name (UpdateShape, …), read from shapes.ttl.
TARGETED_SHAPES = sorted(
    str(shape).removeprefix(str(SHAPES))
    for shape in set(_SHAPES_GRAPH.subjects(SH.targetClass, None))
    if isinstance(shape, URIRef)
)

UPDATE, XREF = "kgsh:UpdateShape", "kgsh:CrossReferenceShape"
DEV, FIG = "kgsh:DevelopmentShape", "kgsh:FigureShape"
GROUP, PLACE, BORDER, AGENT = "kgsh:MigrantGroupShape", "kgsh:PlaceShape", "kgsh:BorderShape", "kgsh:AgentShape"
AUTH, COUNTRY, REGION = "kgsh:AuthorityShape", "kgsh:CountryShape", "kgsh:RegionShape"
SOURCE, IMAGE = "kgsh:SourceArticleShape", "kgsh:ImageShape"
UPDATE_SOURCE, FIGURE_VALUE = "kgsh:UpdateSourceShape", "kgsh:FigureValueShape"

PATTERN, OR, NODEKIND = "PatternConstraintComponent", "OrConstraintComponent", "NodeKindConstraintComponent"
MIN, MAX, CLASS = "MinCountConstraintComponent", "MaxCountConstraintComponent", "ClassConstraintComponent"
DATATYPE, IN = "DatatypeConstraintComponent", "InConstraintComponent"
LTE, MININC = "LessThanOrEqualsConstraintComponent", "MinInclusiveConstraintComponent"

#: (line, path, constraint, shape) of every problem each violates.ttl must give, exactly.
#: A path of None is a node-level constraint (IRI pattern, sh:or) or an inverse path.
EXPECTED: dict[str, list[tuple[int, str | None, str, str]]] = {
    "UpdateShape": [
        (10, None, PATTERN, UPDATE),  # IRI not update:YYYY-MM-DD-…
        (10, None, OR, UPDATE_SOURCE),  # neither dcterms:source nor kg:coverage
        (10, "kg:country", MIN, UPDATE),
        (11, "dcterms:title", NODEKIND, UPDATE),
        (12, "dcterms:issued", DATATYPE, UPDATE),
        (13, "dcterms:publisher", CLASS, UPDATE),
        (14, "kg:reportingBody", CLASS, UPDATE),
        (15, "dcterms:abstract", MAX, UPDATE),
        (16, "dcterms:references", CLASS, UPDATE),
    ],
    "CrossReferenceShape": [
        (20, "kg:target", MAX, XREF),
        (21, "kg:target", CLASS, XREF),  # an update the graph does not know
        (22, "kg:theme", CLASS, XREF),
        (24, None, PATTERN, XREF),
        (24, None, MIN, XREF),  # ^kg:crossReference: no update makes it
        (24, "kg:target", MIN, XREF),
        (24, "kg:theme", MIN, XREF),
    ],
    "DevelopmentShape": [
        (21, "rdfs:label", MIN, DEV),
        (21, "kg:accordingTo", MIN, DEV),
        (22, "kg:reportedIn", CLASS, DEV),
        (23, "kg:measureType", CLASS, DEV),
        (24, "kg:status", MAX, DEV),
        (25, "kg:reportedVia", CLASS, DEV),
        (26, "kg:beginDate", LTE, DEV),  # after kg:endDate
        (26, "kg:beginDate", LTE, DEV),  # after kg:plannedEndDate
        (27, "kg:beginPrecision", IN, DEV),
        (30, "kg:duration", DATATYPE, DEV),
        (31, "kg:uncertain", DATATYPE, DEV),
        (32, "kg:outcome", CLASS, DEV),
        (34, None, PATTERN, DEV),
    ],
    "FigureShape": [
        (21, "kg:counts", MIN, FIG),
        (24, "schema:minValue", LTE, FIG),  # minValue 50 > maxValue 20
        (26, "schema:value", MININC, FIG),  # negative
        (27, "kg:quantityKind", CLASS, FIG),
        (28, "kg:isEstimate", DATATYPE, FIG),
        (29, "kg:place", CLASS, FIG),
        (31, None, PATTERN, FIG),
        (31, None, OR, FIGURE_VALUE),  # no schema:value, minValue or maxValue
        (36, "schema:unitText", MAX, FIG),
        (43, "schema:value", MININC, FIG),  # "nine": not a number
    ],
    "UpdateSourceShape": [
        (9, None, OR, UPDATE_SOURCE),  # neither dcterms:source nor kg:coverage
    ],
    "FigureValueShape": [
        (20, None, OR, FIGURE_VALUE),  # no schema:value, minValue or maxValue
    ],
    "MigrantGroupShape": [
        (20, None, PATTERN, GROUP),
        (20, "rdfs:label", MIN, GROUP),
        (20, "kg:groupType", MIN, GROUP),
        (22, "kg:includesGroupType", CLASS, GROUP),
        (23, "kg:nationality", CLASS, GROUP),
        (24, "kg:atRiskOf", CLASS, GROUP),
        (25, "kg:subgroupOf", CLASS, GROUP),
        (26, "kg:locatedIn", CLASS, GROUP),
        (28, "kg:reportedIn", MIN, GROUP),
    ],
    "PlaceShape": [
        (9, None, PATTERN, PLACE),
        (9, "rdfs:label", MIN, PLACE),
        (10, "kg:placeType", CLASS, PLACE),
        (11, "kg:country", MAX, PLACE),
        (12, "kg:locatedIn", CLASS, PLACE),
        (13, "kg:onBorder", CLASS, PLACE),
        (15, "kg:placeType", MIN, PLACE),
        (15, "kg:country", MIN, PLACE),
        (16, "rdfs:label", NODEKIND, PLACE),
    ],
    "BorderShape": [
        (8, None, PATTERN, BORDER),
        (8, "rdfs:label", MIN, BORDER),
        (9, "kg:betweenCountry", MIN, BORDER),  # a border with one country
        (13, "kg:betweenCountry", MAX, BORDER),  # three values
        (14, "kg:betweenCountry", CLASS, BORDER),
    ],
    "AgentShape": [
        (9, None, PATTERN, AGENT),
        (9, "rdfs:label", MIN, AGENT),
        (10, "kg:agentType", CLASS, AGENT),
        (11, "kg:country", MAX, AGENT),
        (12, "schema:url", NODEKIND, AGENT),
        (13, "schema:url", PATTERN, AGENT),
    ],
    "AuthorityShape": [
        (8, "kg:country", MIN, AUTH),  # the shape's only constraint
    ],
    "CountryShape": [
        (7, None, PATTERN, COUNTRY),
        (7, "rdfs:label", MIN, COUNTRY),
        (7, "kg:iso3166Alpha3", MIN, COUNTRY),
        (8, "kg:iso3166Alpha2", PATTERN, COUNTRY),
        (9, "kg:iso3166Numeric", PATTERN, COUNTRY),
        (10, "kg:unRegion", MAX, COUNTRY),
        (11, "kg:unSubregion", CLASS, COUNTRY),
    ],
    "RegionShape": [
        (6, "rdfs:label", MIN, REGION),
        (7, "kg:m49Code", MAX, REGION),
        (7, "kg:m49Code", PATTERN, REGION),
        (9, "kg:m49Code", MIN, REGION),
    ],
    "SourceArticleShape": [
        (7, None, PATTERN, SOURCE),
        (7, "dcterms:title", MIN, SOURCE),
        (8, "dcterms:publisher", CLASS, SOURCE),
        (9, "dcterms:issued", DATATYPE, SOURCE),
        (10, "kg:language", DATATYPE, SOURCE),
        (11, "schema:url", MAX, SOURCE),
    ],
    "ImageShape": [
        (6, None, PATTERN, IMAGE),
        (6, "schema:caption", MIN, IMAGE),
        (7, "kg:credit", CLASS, IMAGE),
        (8, "schema:contentUrl", NODEKIND, IMAGE),
        (8, "schema:contentUrl", PATTERN, IMAGE),
    ],
}

#: Broken lines of a violates.ttl (commented as such) that the validator does not report
#: because of a known bug; test_known_bug_* below expects them, as strict xfails.
NOT_REPORTED: dict[str, list[tuple[int, str | None, str, str]]] = {}


def key(problem) -> tuple:
    return (problem.line, problem.path, problem.constraint, problem.shape)


def by_line(items):
    return sorted(items, key=lambda t: (t[0] or 0, t[1] or "", t[2], t[3]))


def commented_lines(path: Path) -> set[int]:
    """Lines of statements that carry a trailing comment (the broken lines of a violates.ttl)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {
        n for n, line in enumerate(lines, 1) if not line.lstrip().startswith("#") and re.search(r"\s#\s", line)
    }


@pytest.fixture(scope="module")
def shapes_validator() -> Validator:
    """One validator for the module (its context takes about half a second to build)."""
    return Validator(known_updates=KNOWN_UPDATES)


@pytest.fixture(scope="module")
def shape_messages(shapes_validator) -> set[str]:
    return {str(m) for m in shapes_validator.shapes.objects(None, SH.message)}


# ---------------------------------------------------------------- the fixtures exist and are complete


def test_shapes_are_found():
    assert len(TARGETED_SHAPES) >= 13
    assert "UpdateShape" in TARGETED_SHAPES


def test_every_targeted_shape_has_an_expected_list():
    assert sorted(EXPECTED) == TARGETED_SHAPES


@pytest.mark.parametrize("shape", TARGETED_SHAPES)
def test_shape_has_both_fixtures(shape):
    for name in ("conforms.ttl", "violates.ttl"):
        path = FIXTURES / shape / name
        assert path.is_file(), f"kgsh:{shape} has no example {path.relative_to(ROOT)}: write one"


@pytest.mark.parametrize("shape", TARGETED_SHAPES)
def test_fixtures_describe_a_resource_of_the_target_class(shape, shapes_validator):
    """An example that holds no instance of the target class would test nothing."""
    target = _SHAPES_GRAPH.value(SHAPES[shape], SH.targetClass)
    classes = set(shapes_validator.context.transitive_subjects(RDFS.subClassOf, target))
    for name in ("conforms.ttl", "violates.ttl"):
        graph = Graph().parse(FIXTURES / shape / name, format="turtle")
        assert any(c in classes for c in graph.objects(None, RDF.type)), f"{shape}/{name}"


# ---------------------------------------------------------------- conforming and violating examples


@pytest.mark.parametrize("shape", TARGETED_SHAPES)
def test_conforming_example_has_no_problem(shape, shapes_validator):
    report = shapes_validator.validate_file(FIXTURES / shape / "conforms.ttl")
    assert report.problems == [], format_human([report])


@pytest.mark.parametrize("shape", TARGETED_SHAPES)
def test_violating_example_gives_the_expected_problems(shape, shapes_validator):
    report = shapes_validator.validate_file(FIXTURES / shape / "violates.ttl")
    assert by_line(map(key, report.problems)) == by_line(EXPECTED[shape]), format_human([report])


@pytest.mark.parametrize("shape", TARGETED_SHAPES)
def test_violating_example_problems_have_a_message_and_a_line(shape, shapes_validator, shape_messages):
    report = shapes_validator.validate_file(FIXTURES / shape / "violates.ttl")
    assert report.problems
    for problem in report.problems:
        assert problem.kind == "shape"
        assert problem.message.strip(), problem
        assert problem.message in shape_messages, f"raw SHACL wording reached the editor: {problem.message}"
        assert isinstance(problem.line, int) and problem.line > 0, problem


@pytest.mark.parametrize("shape", TARGETED_SHAPES)
def test_violating_example_breaks_several_distinct_constraints(shape):
    """At least three distinct (path, constraint) pairs, or all of them for a smaller shape."""
    node = SHAPES[shape]
    declared = sum(1 for p, _ in _SHAPES_GRAPH.predicate_objects(node) if p not in _NON_CONSTRAINTS)
    for prop in _SHAPES_GRAPH.objects(node, SH.property):
        declared += sum(1 for p, _ in _SHAPES_GRAPH.predicate_objects(prop) if p not in (SH.path, SH.message))
    broken = {(path, constraint) for _, path, constraint, _ in EXPECTED[shape]}
    assert len(broken) >= min(3, declared)


@pytest.mark.parametrize("shape", TARGETED_SHAPES)
def test_broken_lines_are_commented(shape):
    """Each line a problem is expected on carries a comment, and each commented line is expected."""
    expected_lines = {t[0] for t in EXPECTED[shape] + NOT_REPORTED.get(shape, [])}
    assert commented_lines(FIXTURES / shape / "violates.ttl") == expected_lines


# ---------------------------------------------------------------- messages written for editors


def _targeted_node_shapes():
    return sorted(set(_SHAPES_GRAPH.subjects(SH.targetClass, None)), key=str)


def _name(term) -> str:
    """A shape or path as a short test id (UpdateShape, dcterms:title, ^kg:crossReference)."""
    if isinstance(term, URIRef):
        if str(term).startswith(str(SHAPES)):
            return str(term).removeprefix(str(SHAPES))
        return _SHAPES_GRAPH.namespace_manager.normalizeUri(term)
    inverse = _SHAPES_GRAPH.value(term, SH.inversePath)
    return "^" + _name(inverse) if inverse is not None else str(term)


def _properties_of(node) -> list:
    """The property shapes of NODE in a stable order (by path, then message)."""
    return sorted(
        _SHAPES_GRAPH.objects(node, SH.property),
        key=lambda prop: (_name(_SHAPES_GRAPH.value(prop, SH.path)), str(_SHAPES_GRAPH.value(prop, SH.message))),
    )


def _property_shapes():
    return [
        pytest.param(node, prop, id=f"{_name(node)}-{_name(_SHAPES_GRAPH.value(prop, SH.path))}")
        for node in _targeted_node_shapes()
        for prop in _properties_of(node)
    ]


@pytest.mark.parametrize("node", _targeted_node_shapes(), ids=_name)
def test_node_shape_carries_a_message(node):
    """A targeted node shape names its node-level constraints (IRI pattern, sh:or…) in a message.

    kgsh:AuthorityShape and kgsh:RegionShape have no node-level constraint, so no result can
    carry their node-level message: they are only required to stay that way.
    """
    node_level = {p for p in _SHAPES_GRAPH.predicates(node) if p not in _NON_CONSTRAINTS}
    messages = list(_SHAPES_GRAPH.objects(node, SH.message))
    if node_level:
        assert len(messages) == 1 and str(messages[0]).strip(), f"{node}: node-level {node_level}, no sh:message"
    else:
        assert list(_SHAPES_GRAPH.objects(node, SH.property)), f"{node} constrains nothing"


@pytest.mark.parametrize(("node", "prop"), _property_shapes())
def test_property_shape_carries_a_message(node, prop):
    messages = list(_SHAPES_GRAPH.objects(prop, SH.message))
    assert len(messages) == 1 and str(messages[0]).strip()


# ---------------------------------------------------------------- scheme values: a concept of another scheme


def _scheme_property_shapes():
    """(node shape, property shape, path, scheme class) for every value taken from a SKOS scheme."""
    ontology = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        ontology.parse(path, format="turtle")
    schemes = set(ontology.subjects(RDFS.subClassOf, SKOS.Concept))
    return [
        pytest.param(node, prop, path, cls, id=f"{_name(node)}-{_name(path)}")
        for node in _targeted_node_shapes()
        for prop in _properties_of(node)
        if (cls := _SHAPES_GRAPH.value(prop, SH["class"])) in schemes
        and (path := _SHAPES_GRAPH.value(prop, SH.path)) is not None
    ]


SCHEME_PROPERTY_SHAPES = _scheme_property_shapes()


def test_scheme_properties_are_found():
    paths = {str(p.values[2]).rsplit("/", 1)[-1] for p in SCHEME_PROPERTY_SHAPES}
    expected = {"measureType", "status", "reportedVia", "theme", "quantityKind", "groupType", "placeType"}
    assert expected | {"agentType", "atRiskOf", "includesGroupType"} <= paths


@pytest.mark.parametrize(("node", "prop", "path", "scheme_class"), SCHEME_PROPERTY_SHAPES)
def test_scheme_property_refuses_a_concept_of_another_scheme(
    node, prop, path, scheme_class, shapes_validator, tmp_path
):
    """Take the shape's conforming example, put a concept of another scheme in the property."""
    shape = str(node).removeprefix(str(SHAPES))
    graph = Graph().parse(FIXTURES / shape / "conforms.ttl", format="turtle")
    target = _SHAPES_GRAPH.value(node, SH.targetClass)
    classes = set(shapes_validator.context.transitive_subjects(RDFS.subClassOf, target))
    focus = next(s for s, c in graph.subject_objects(RDF.type) if c in classes)
    context = shapes_validator.context
    intruder = min(
        (c for c in context.subjects(RDF.type, SKOS.Concept) if (c, RDF.type, scheme_class) not in context),
        key=lambda c: (min(str(t) for t in context.objects(c, RDF.type) if t != SKOS.Concept), str(c)),
    )
    graph.remove((focus, path, None))
    graph.add((focus, path, intruder))
    file = tmp_path / "intruder.ttl"
    graph.serialize(file, format="turtle")

    report = shapes_validator.validate_file(file)

    message = str(_SHAPES_GRAPH.value(prop, SH.message))
    short = graph.namespace_manager.normalizeUri(path)
    found = [(p.path, p.constraint, p.shape, p.message) for p in report.problems]
    assert found == [(short, CLASS, f"kgsh:{shape}", message)], format_human([report])
    assert report.problems[0].line is not None


def test_a_status_used_as_a_measure_type_gives_the_measure_type_message(shapes_validator, tmp_path):
    path = FIXTURES / "DevelopmentShape" / "conforms.ttl"
    text = path.read_text(encoding="utf-8").replace(
        "kg:measureType mt:moratorium-on-detention-orders", "kg:measureType st:introduced"
    )
    line = next(n for n, l in enumerate(text.splitlines(), 1) if "kg:measureType st:introduced" in l)
    report = shapes_validator.validate_file(path.name, text.encode("utf-8"))
    assert [(p.line, p.path, p.constraint, p.shape, p.value) for p in report.problems] == [
        (line, "kg:measureType", CLASS, DEV, "st:introduced")
    ]
    assert report.problems[0].message == (
        "Give exactly one measure type from the measure-type scheme in ontology/vocabularies.ttl "
        "(for example mt:moratorium-on-detention-orders)."
    )


# ---------------------------------------------------------------- regressions of bugs found by these tests


def test_a_figure_value_that_is_not_a_number_is_refused(shapes_validator):
    """Regression: a property-level sh:or of datatypes never fired under focus_nodes (pyshacl 0.40)."""
    report = shapes_validator.validate_file(FIXTURES / "FigureShape" / "violates.ttl")
    assert (43, "schema:value", MININC, FIG) in set(map(key, report.problems))


def test_a_blank_node_resource_is_reported_on_its_parent_line(shapes_validator):
    """Regression: a [ … ] subject crashed pyshacl; now the file rule asks for an IRI, on the parent's line."""
    path = FIXTURES / "DevelopmentShape" / "violates-blank-node.ttl"
    report = shapes_validator.validate_file(path)
    (line,) = commented_lines(path)
    assert [(p.line, p.kind) for p in report.problems] == [(line, "file")]
    assert "cannot be linked to: give it an IRI" in report.problems[0].message
    assert "kg:Incident" in report.problems[0].message


@pytest.mark.parametrize(
    ("shape", "names"), [("UpdateShape", ("dcterms:source", "kg:coverage")), ("FigureShape", ("schema:value",))]
)
def test_node_level_or_has_its_own_message(shape, names, shapes_validator):
    """Regression: the node-level sh:or used to share the IRI pattern's message."""
    report = shapes_validator.validate_file(FIXTURES / shape / "violates.ttl")
    (problem,) = [p for p in report.problems if p.constraint == OR]
    assert all(name in problem.message for name in names), problem.message
