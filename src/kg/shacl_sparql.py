"""SHACL Core shapes compiled into SPARQL SELECT queries that run on Oxigraph.

pyshacl validates one small rdflib graph at a time (10–30 ms a file with its context); a bulk
load of 100k files cannot afford that. This module reads a shapes graph (generically: nothing
is written per shape) and compiles its constraints into SPARQL SELECT queries that find the same
violations for many files at once, each file in its own named graph of a staging store, beside
one *context* graph (the ontology, the SKOS schemes, the reference data and the updates the
knowledge graph knows).

What a query sees is what ``kg validate`` gives pyshacl for one file: the file's data graph is
the file's named graph ``?g`` together with the context graph, and the focus nodes are the
file's own subjects that a shape targets. So every triple pattern on the data is written as
``{ GRAPH ?g { … } } UNION { GRAPH <context> { … } }``, and a file never sees another file's
triples (two files may describe one place differently).

Each node shape gives a few queries (:class:`Query`), each evaluating several constraints
(:class:`Check`) in one pass: one over its focus nodes for everything that looks at a focus node
as a whole (counts, ``sh:hasValue``, the node shape's own constraints), and one per property
shape over its value nodes. Each constraint's verdict is a boolean column; a row is returned when
one is true, and becomes a :class:`Violation`: the file's graph, the focus node, the value (when
the component reports one) and the check, which carries the path, the constraint component, the
``sh:message``, the severity, the node shape and the shape that holds the constraint. Before the
queries, :attr:`CompiledShapes.prepare` records each node shape's focus nodes once in a derived
graph, and a query over value nodes is skipped when its predicate occurs nowhere.

Supported (SHACL Core, as ``shapes/shapes.ttl`` uses it, and a little more): targets
``sh:targetClass`` (with ``rdfs:subClassOf*``), implicit class targets, ``sh:targetNode``,
``sh:targetSubjectsOf``, ``sh:targetObjectsOf``; paths: a predicate or ``[ sh:inversePath p ]``;
components ``sh:minCount``, ``sh:maxCount``, ``sh:datatype`` (ill-typed literals fail),
``sh:class``, ``sh:nodeKind``, ``sh:pattern`` (with ``sh:flags``), ``sh:in``, ``sh:hasValue``,
``sh:minInclusive``/``sh:maxInclusive``/``sh:minExclusive``/``sh:maxExclusive``,
``sh:minLength``/``sh:maxLength``, ``sh:lessThan``/``sh:lessThanOrEquals``, ``sh:equals``,
``sh:disjoint``, ``sh:node``, ``sh:or``/``sh:and``/``sh:not``/``sh:xone`` (node level and on
value nodes), ``sh:deactivated``, ``sh:severity``. Anything else raises
:class:`UnsupportedShape`, so a new kind of constraint cannot be skipped silently.

The class hierarchy (``rdfs:subClassOf*``) is resolved when compiling, from the hierarchy the
caller passes (the context's), and written into the queries as ``VALUES`` lists.

Semantics follow the SHACL specification, which is what pyshacl gives when it validates a
whole graph. Where pyshacl 0.40 given ``focus_nodes`` (as ``kg.validate`` calls it) differs —
it skips shapes applied to value nodes (``sh:node``, ``sh:or``… under a path) for values
outside the focus list, and fails on blank-node focus nodes — these checks report what the
specification says (``kg.validate`` refuses blank nodes by a file rule instead, and
:mod:`kg.bulk` keeps only IRI focus nodes to match it).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD

CONTEXT_GRAPH = "urn:kg:staging:context"
#: Graphs :attr:`CompiledShapes.prepare` derives from the data: each node shape's focus nodes
#: (``…focus:N``, ``?this <urn:kg:staging:in> ?g``). (Recording each sh:class's instances the
#: same way was measured too: it cost more CPU than the two lookups per class it saves.)
DERIVED_GRAPH_PREFIX = "urn:kg:staging:derived:"
FOCUS_GRAPH_PREFIX = DERIVED_GRAPH_PREFIX + "focus:"
_IN_FILE = "<urn:kg:staging:in>"

_XSD_STRING_LIKE = (XSD.string, RDF.langString)
#: Datatypes whose well-formedness a SPARQL cast decides (an ill-typed literal fails sh:datatype).
_CASTABLE = {
    XSD.boolean, XSD.integer, XSD.decimal, XSD.float, XSD.double, XSD.date, XSD.dateTime, XSD.time,
    XSD.duration, XSD.dayTimeDuration, XSD.yearMonthDuration,
}
_NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNode: "isBlank({v})",
    SH.BlankNodeOrIRI: "!isLiteral({v})",
    SH.BlankNodeOrLiteral: "!isIRI({v})",
    SH.IRIOrLiteral: "!isBlank({v})",
}
#: Parameters of shapes that are not constraints (or are read with the constraint they belong to).
_NOT_CONSTRAINTS = {
    RDF.type, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.property, SH.path,
    SH.message, SH.severity, SH.deactivated, SH.name, SH.description, SH.order, SH.group, SH.defaultValue,
    RDFS.label, RDFS.comment, RDFS.seeAlso, SH.flags,
}


class UnsupportedShape(ValueError):
    """The shapes use something this compiler does not translate (yet)."""


@dataclass(frozen=True)
class Path:
    """A property path: a predicate, or its inverse."""

    predicate: str
    inverse: bool = False

    def __str__(self) -> str:
        return f"^<{self.predicate}>" if self.inverse else f"<{self.predicate}>"


@dataclass
class Check:
    """One compiled constraint, and what the rows of its query mean for it."""

    query: str  # the SELECT that finds its violations (possibly shared with other checks)
    component: str  # e.g. "MinCountConstraintComponent"
    node_shape: str | None  # IRI of the node shape (the one that has a target)
    source_shape: URIRef | BNode  # the shape that holds the constraint (a property shape or the node shape)
    path: Path | None
    message: str
    severity: str  # "violation", "warning" or "info"
    value_from: str | None  # the variable the reported value is in ("value" or "this"), None: no value
    flag: str | None = None  # in a shared query, the boolean variable that marks this check's rows

    @property
    def reports_value(self) -> bool:
        return self.value_from is not None


@dataclass
class Query:
    """One SELECT over the staging store and the checks whose violations its rows report."""

    text: str
    checks: list[Check]
    #: The query finds nothing unless one of these predicates occurs in the store (None: always run).
    needs: frozenset[str] | None = None

    def may_find(self, store: pyoxigraph.Store) -> bool:
        """False when the query cannot return a row: none of the predicates it reads occurs."""
        if self.needs is None:
            return True
        return any(next(iter(store.quads_for_pattern(None, pyoxigraph.NamedNode(p), None, None)), None) for p in self.needs)

    def violations(self, rows) -> Iterator[Violation]:
        true = _TRUE
        for row in rows:
            for check in self.checks:
                if check.flag is None or row[check.flag] == true:
                    value = row[check.value_from] if check.value_from else None
                    yield Violation(row["g"], row["this"], value, check)


@dataclass
class Violation:
    """One result row of one check, as pyoxigraph terms."""

    graph: pyoxigraph.NamedNode
    focus: pyoxigraph.NamedNode | pyoxigraph.BlankNode
    value: object | None
    check: Check = field(repr=False)

    @property
    def key(self) -> tuple:
        """(focus, path, component, value): what the agreement test compares with pyshacl."""
        return (_term_key(self.focus), self.check.path, self.check.component, _term_key(self.value))


_TRUE = pyoxigraph.Literal("true", datatype=pyoxigraph.NamedNode(str(XSD.boolean)))


def _term_key(term) -> str | None:
    if term is None:
        return None
    if isinstance(term, pyoxigraph.BlankNode):
        return "_:" + term.value
    return str(term)


def _sparql_term(term) -> str:
    """An rdflib term as SPARQL text (terms come from the shapes file, not from users)."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()
    raise UnsupportedShape(f"cannot use {term!r} as a constant in a check")


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


class _Compiler:
    def __init__(self, shapes: Graph, subclasses: Callable[[URIRef], set[URIRef]], context_graph: str):
        self.sg = shapes
        self.subclasses = subclasses
        self.ctx = f"<{context_graph}>"
        self._fresh = itertools.count()
        self._shapes = itertools.count()

    # -- helpers -----------------------------------------------------------------------------

    def var(self, name: str = "v") -> str:
        return f"?{name}{next(self._fresh)}"

    def triple(self, s: str, p: str, o: str) -> str:
        """A triple pattern on the file's data graph: its own graph ?g or the context."""
        return f"{{ GRAPH ?g {{ {s} {p} {o} }} }} UNION {{ GRAPH {self.ctx} {{ {s} {p} {o} }} }}"

    def values(self, path: Path, focus: str, value: str) -> str:
        """The value nodes of PATH at FOCUS, bound to VALUE."""
        if path.inverse:
            return self.triple(value, f"<{path.predicate}>", focus)
        return self.triple(focus, f"<{path.predicate}>", value)

    def path_of(self, shape) -> Path | None:
        path = self.sg.value(shape, SH.path)
        if path is None:
            return None
        if isinstance(path, URIRef):
            return Path(str(path))
        inverse = self.sg.value(path, SH.inversePath)
        if isinstance(inverse, URIRef) and len(set(self.sg.predicate_objects(path))) == 1:
            return Path(str(inverse), inverse=True)
        raise UnsupportedShape(f"only predicate and inverse paths are supported (shape {shape})")

    def class_values(self, cls: URIRef) -> str:
        return " ".join(f"<{c}>" for c in sorted(self.subclasses(cls) | {cls}))

    def instance_of(self, node: str, cls: URIRef) -> str:
        """An expression: NODE is an instance of CLS (or a subclass) in the data graph."""
        t = self.var("t")
        return f"EXISTS {{ VALUES {t} {{ {self.class_values(cls)} }} {self.triple(node, f'<{RDF.type}>', t)} }}"

    def message(self, shape) -> str | None:
        messages = sorted(str(m) for m in self.sg.objects(shape, SH.message))
        return messages[0] if messages else None

    def severity(self, shape) -> str:
        severity = self.sg.value(shape, SH.severity)
        return str(severity).rsplit("#", 1)[-1].lower() if severity is not None else "violation"

    def shape_list(self, node) -> list:
        return list(Collection(self.sg, node))

    # -- value-wise conditions: an expression true when value node V conforms ----------------

    def value_ok(self, parameter: URIRef, argument, shape, v: str) -> str | None:
        """For value-wise components, the expression that holds when V conforms; None otherwise."""
        if parameter == SH.datatype:
            return self.datatype_ok(argument, v)
        if parameter == SH["class"]:
            return f"(!isLiteral({v}) && {self.instance_of(v, argument)})"
        if parameter == SH.nodeKind:
            if argument not in _NODE_KINDS:
                raise UnsupportedShape(f"unknown sh:nodeKind {argument}")
            return _NODE_KINDS[argument].format(v=v)
        if parameter == SH.pattern:
            flags = self.sg.value(shape, SH.flags)
            args = f", {_string(str(flags))}" if flags is not None else ""
            return f"(!isBlank({v}) && REGEX(STR({v}), {_string(str(argument))}{args}))"
        if parameter == SH["in"]:
            members = self.shape_list(argument)
            return "(" + " || ".join(f"sameTerm({v}, {_sparql_term(m)})" for m in members) + ")" if members else "false"
        if parameter in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
            op = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}[parameter]
            return f"COALESCE({v} {op} {_sparql_term(argument)}, false)"
        if parameter in (SH.minLength, SH.maxLength):
            op = ">=" if parameter == SH.minLength else "<="
            return f"(!isBlank({v}) && STRLEN(STR({v})) {op} {int(argument)})"
        if parameter == SH.node:
            return self.conforms(argument, v)
        if parameter == SH["not"]:
            return f"!({self.conforms(argument, v)})"
        if parameter == SH["or"]:
            members = self.shape_list(argument)
            return "(" + " || ".join(self.conforms(m, v) for m in members) + ")" if members else "false"
        if parameter == SH["and"]:
            members = self.shape_list(argument)
            return "(" + " && ".join(self.conforms(m, v) for m in members) + ")" if members else "true"
        if parameter == SH.xone:
            members = self.shape_list(argument)
            ones = " + ".join(f"IF({self.conforms(m, v)}, 1, 0)" for m in members)
            return f"(({ones or '0'}) = 1)"
        return None

    def datatype_ok(self, datatype, v: str) -> str:
        if datatype == RDFS.Literal:
            return f"isLiteral({v})"
        check = f"(isLiteral({v}) && sameTerm(DATATYPE({v}), <{datatype}>)"
        if datatype in _CASTABLE:  # an ill-typed literal (e.g. "2020-13-01"^^xsd:date) does not match
            check += f" && isLiteral(COALESCE(<{datatype}>(STR({v})), <urn:kg:ill-typed>))"
        return check + ")"

    # -- whole shapes as conditions (for sh:node, sh:or… on a bound node) ----------------------

    def conforms(self, shape, x: str) -> str:
        """An expression true when node X conforms to SHAPE (all its constraints)."""
        if self.sg.value(shape, SH.deactivated) == Literal(True):
            return "true"
        path = self.path_of(shape)
        parts = []
        for parameter, argument in sorted(self.sg.predicate_objects(shape), key=_by_text):
            if parameter in _NOT_CONSTRAINTS and parameter != SH.property:
                continue
            if parameter == SH.property:
                parts.append(self.conforms(argument, x))
                continue
            parts.append(self.constraint_holds(parameter, argument, shape, path, x))
        return "(" + " && ".join(parts) + ")" if parts else "true"

    def constraint_holds(self, parameter, argument, shape, path: Path | None, x: str) -> str:
        if path is None:  # a node shape: the node is its only value node
            if parameter in (SH.minCount, SH.maxCount, SH.hasValue, SH.lessThan, SH.lessThanOrEquals, SH.equals, SH.disjoint):
                return self.pair_or_count_holds(parameter, argument, None, x)
            ok = self.value_ok(parameter, argument, shape, x)
            if ok is None:
                raise UnsupportedShape(f"unsupported constraint {parameter} on {shape}")
            return ok
        if parameter in (SH.minCount, SH.maxCount, SH.hasValue, SH.lessThan, SH.lessThanOrEquals, SH.equals, SH.disjoint):
            return self.pair_or_count_holds(parameter, argument, path, x)
        v = self.var()
        ok = self.value_ok(parameter, argument, shape, v)
        if ok is None:
            raise UnsupportedShape(f"unsupported constraint {parameter} on {shape}")
        return f"NOT EXISTS {{ {self.values(path, x, v)} FILTER(!({ok})) }}"

    def pair_or_count_holds(self, parameter, argument, path: Path | None, x: str) -> str:
        if path is None:  # a node shape: X is its one value node
            if parameter == SH.minCount:
                return "true" if int(argument) <= 1 else "false"
            if parameter == SH.maxCount:
                return "true" if int(argument) >= 1 else "false"
            if parameter == SH.hasValue:
                return f"sameTerm({x}, {_sparql_term(argument)})"
            o = self.var("o")
            if parameter == SH.equals:
                return f"NOT EXISTS {{ {self.triple(x, f'<{argument}>', o)} FILTER(!sameTerm({o}, {x})) }}"
            return f"NOT EXISTS {{ {self.triple(x, f'<{argument}>', o)} FILTER({self.pair_violation(parameter, x, o)}) }}"
        if parameter in (SH.minCount, SH.maxCount):
            n = int(argument) if parameter == SH.minCount else int(argument) + 1
            if n <= 0:
                return "true"
            if n > 4:
                raise UnsupportedShape(f"counts above 4 inside sh:or/sh:node are not supported ({argument})")
            vs = [self.var() for _ in range(n)]
            distinct = " ".join(f"FILTER(!sameTerm({a}, {b}))" for a, b in itertools.combinations(vs, 2))
            found = f"EXISTS {{ {' '.join('{ ' + self.values(path, x, v) + ' }' for v in vs)} {distinct} }}"
            return found if parameter == SH.minCount else f"!{found}"
        if parameter == SH.hasValue:
            v = self.var()
            return f"EXISTS {{ {self.values(path, x, v)} FILTER(sameTerm({v}, {_sparql_term(argument)})) }}"
        v, o = self.var(), self.var("o")
        if parameter == SH.equals:
            mine = f"NOT EXISTS {{ {self.values(path, x, v)} FILTER NOT EXISTS {{ {self.triple(x, f'<{argument}>', o)} FILTER(sameTerm({o}, {v})) }} }}"
            theirs = f"NOT EXISTS {{ {self.triple(x, f'<{argument}>', o)} FILTER NOT EXISTS {{ {self.values(path, x, v)} FILTER(sameTerm({o}, {v})) }} }}"
            return f"({mine} && {theirs})"
        bad = self.pair_violation(parameter, v, o)
        other = self.triple(x, f"<{argument}>", o)
        return f"NOT EXISTS {{ {{ {self.values(path, x, v)} }} {{ {other} }} FILTER({bad}) }}"

    def pair_violation(self, parameter, v: str, o: str) -> str:
        if parameter == SH.lessThanOrEquals:
            return f"!COALESCE({v} <= {o}, false)"
        if parameter == SH.lessThan:
            return f"!COALESCE({v} < {o}, false)"
        if parameter == SH.disjoint:
            return f"sameTerm({v}, {o})"
        raise UnsupportedShape(f"unsupported pair constraint {parameter}")

    # -- focus nodes ---------------------------------------------------------------------------

    def focus_pattern(self, shape) -> str | None:
        """A group binding ?g (a file's graph) and ?this (one of its subjects the shape targets)."""
        branches = []
        classes = set(self.sg.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in self.sg or (shape, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Class")) in self.sg:
            classes.add(shape)  # implicit class target
        if classes:
            values = " ".join(sorted({f"<{c}>" for cls in classes for c in self.subclasses(cls) | {cls}}))
            branches.append(f"{{ VALUES ?t {{ {values} }} GRAPH ?g {{ ?this <{RDF.type}> ?t }} }}")
            # typed only by the context (e.g. a known update) but described in the file
            branches.append(
                f"{{ VALUES ?t {{ {values} }} GRAPH {self.ctx} {{ ?this <{RDF.type}> ?t }} GRAPH ?g {{ ?this ?anyP ?anyO }} }}"
            )
        for node in self.sg.objects(shape, SH.targetNode):
            branches.append(f"{{ BIND({_sparql_term(node)} AS ?this) GRAPH ?g {{ ?this ?anyP ?anyO }} }}")
        for predicate in self.sg.objects(shape, SH.targetSubjectsOf):
            branches.append(f"{{ GRAPH ?g {{ ?this <{predicate}> ?anyO }} }}")
            branches.append(f"{{ GRAPH {self.ctx} {{ ?this <{predicate}> ?anyO }} GRAPH ?g {{ ?this ?anyP ?anyO2 }} }}")
        for predicate in self.sg.objects(shape, SH.targetObjectsOf):
            branches.append(
                f"{{ GRAPH ?g {{ ?this ?anyP ?anyO }} {{ {self.triple('?anyS', f'<{predicate}>', '?this')} }} }}"
            )
        if not branches:
            return None
        return (
            "{ SELECT DISTINCT ?g ?this WHERE { "
            + " UNION ".join(branches)
            + f' FILTER(?g != {self.ctx} && !STRSTARTS(STR(?g), "{DERIVED_GRAPH_PREFIX}")) }} }}'
        )

    # -- top-level checks ---------------------------------------------------------------------

    def compile_node_shape(self, shape, prepare: list[str] | None) -> list[Query]:
        """The queries of one node shape; with PREPARE, its focus nodes are recorded once by an update.

        Constraints are grouped so that the data is scanned as few times as possible: one query
        over the focus nodes evaluates every constraint that looks at a focus node as a whole
        (counts, sh:hasValue, constraints of the node shape itself), and one query per property
        shape evaluates its constraints on each value node; each constraint's verdict is a
        boolean column, and a row is returned when any is true.
        """
        if self.sg.value(shape, SH.deactivated) == Literal(True):
            return []
        focus = self.focus_pattern(shape)
        if focus is None:
            return []
        if prepare is not None:
            graph = f"<{FOCUS_GRAPH_PREFIX}{next(self._shapes)}>"
            prepare.append(f"INSERT {{ GRAPH {graph} {{ ?this {_IN_FILE} ?g }} }} WHERE {focus}")
            focus = f"GRAPH {graph} {{ ?this {_IN_FILE} ?g }}"
        node_shape = str(shape) if isinstance(shape, URIRef) else None
        queries: list[Query] = []
        per_focus: list[tuple[Check, str]] = []  # (check, expression true on a violation)

        def check(source, path, parameter, value_from) -> Check:
            component = _COMPONENTS.get(parameter)
            if component is None:
                raise UnsupportedShape(f"unsupported constraint parameter {parameter} on {source}")
            return Check("", component, node_shape, source, path, self.message(source) or _default_message(component, path),
                         self.severity(source), value_from)

        # constraints on the focus node itself
        for parameter, argument in sorted(self.sg.predicate_objects(shape), key=_by_text):
            if parameter in _NOT_CONSTRAINTS:
                continue
            if parameter == SH.equals:
                queries.append(self.single(focus, shape, node_shape, None, parameter, argument))
                continue
            ok = self.value_ok(parameter, argument, shape, "?this")
            if ok is None:
                ok = self.pair_or_count_holds(parameter, argument, None, "?this")
                value_from = None if parameter in (SH.minCount, SH.maxCount, SH.hasValue) else "this"
            else:
                value_from = "this"
            per_focus.append((check(shape, None, parameter, value_from), f"!({ok})"))
        for prop in sorted(self.sg.objects(shape, SH.property), key=str):
            if self.sg.value(prop, SH.deactivated) == Literal(True):
                continue
            path = self.path_of(prop)
            if path is None:
                raise UnsupportedShape(f"the property shape {prop} of {shape} has no sh:path")
            per_value: list[tuple[Check, str]] = []
            for parameter, argument in sorted(self.sg.predicate_objects(prop), key=_by_text):
                if parameter in _NOT_CONSTRAINTS:
                    continue
                if parameter == SH.property:
                    raise UnsupportedShape(f"nested sh:property under {prop} is not supported")
                small = parameter not in (SH.minCount, SH.maxCount) or int(argument) + (parameter == SH.maxCount) <= 4
                if parameter in (SH.minCount, SH.maxCount, SH.hasValue) and small:
                    holds = self.pair_or_count_holds(parameter, argument, path, "?this")
                    per_focus.append((check(prop, path, parameter, None), f"!({holds})"))
                elif parameter in (SH.minCount, SH.maxCount, SH.equals):
                    queries.append(self.single(focus, prop, node_shape, path, parameter, argument))
                elif parameter in (SH.lessThan, SH.lessThanOrEquals, SH.disjoint):
                    o = self.var("o")
                    bad = f"EXISTS {{ {self.triple('?this', f'<{argument}>', o)} FILTER({self.pair_violation(parameter, '?value', o)}) }}"
                    per_value.append((check(prop, path, parameter, "value"), bad))
                else:
                    ok = self.value_ok(parameter, argument, prop, "?value")
                    if ok is None:
                        raise UnsupportedShape(f"unsupported constraint parameter {parameter} on {prop}")
                    per_value.append((check(prop, path, parameter, "value"), f"!({ok})"))
            if per_value:  # (no value node, no violation: skipped when the predicate does not occur)
                query = self._flagged(
                    f"SELECT DISTINCT ?g ?this ?value %FLAGS% WHERE {{ {focus} {{ {self.values(path, '?this', '?value')} }} %BINDS% }}",
                    per_value,
                )
                query.needs = frozenset([path.predicate])
                queries.append(query)
        if per_focus:
            queries.append(self._flagged(f"SELECT ?g ?this %FLAGS% WHERE {{ {focus} %BINDS% }}", per_focus))
        return queries

    @staticmethod
    def _flagged(template: str, items: list[tuple[Check, str]]) -> Query:
        """A query whose rows carry one boolean column per check (true: the check is violated)."""
        flags, binds = [], []
        for i, (check, bad) in enumerate(items):
            check.flag = f"f{i}"
            flags.append(f"?f{i}")
            binds.append(f"BIND(COALESCE({bad}, false) AS ?f{i})")
        binds.append(f"FILTER({' || '.join(flags)})")
        text = template.replace("%FLAGS%", " ".join(flags)).replace("%BINDS%", " ".join(binds))
        for check, _ in items:
            check.query = text
        return Query(text, [check for check, _ in items])

    def single(self, focus: str, shape, node_shape, path: Path | None, parameter, argument) -> Query:
        check = self.compile_constraint(focus, shape, node_shape, path, parameter, argument)
        return Query(check.query, [check])

    def compile_constraint(self, focus: str, shape, node_shape, path: Path | None, parameter, argument) -> Check:
        component = _COMPONENTS.get(parameter)
        if component is None:
            raise UnsupportedShape(f"unsupported constraint parameter {parameter} on {shape}")
        reports_value = True
        if parameter in (SH.minCount, SH.maxCount):
            reports_value = False
            n = int(argument)
            if path is None:
                raise UnsupportedShape(f"{parameter} on a node shape ({shape})")
            v = self.var()
            if parameter == SH.minCount and n == 1:
                body = f"{focus} FILTER NOT EXISTS {{ {self.values(path, '?this', v)} }}"
                query = f"SELECT ?g ?this WHERE {{ {body} }}"
            else:
                having = f"COUNT(DISTINCT {v}) < {n}" if parameter == SH.minCount else f"COUNT(DISTINCT {v}) > {n}"
                inner = f"OPTIONAL {{ {self.values(path, '?this', v)} }}" if parameter == SH.minCount else self.values(path, "?this", v)
                query = f"SELECT ?g ?this WHERE {{ {focus} {inner} }} GROUP BY ?g ?this HAVING({having})"
        elif parameter == SH.hasValue:
            reports_value = False
            v = self.var()
            pattern = self.values(path, "?this", v) if path is not None else f"BIND(?this AS {v})"
            query = (
                f"SELECT ?g ?this WHERE {{ {focus} FILTER NOT EXISTS {{ {pattern} "
                f"FILTER(sameTerm({v}, {_sparql_term(argument)})) }} }}"
            )
        elif parameter in (SH.lessThan, SH.lessThanOrEquals, SH.disjoint, SH.equals):
            o = self.var("o")
            value = f"{{ {self.values(path, '?this', '?value')} }}" if path is not None else "BIND(?this AS ?value)"
            other = self.triple("?this", f"<{argument}>", o)
            if parameter == SH.equals:
                # values on one side that the other lacks, each reported as ?value
                w = self.var()
                mine = self.values(path, "?this", w) if path is not None else f"BIND(?this AS {w})"
                query = (
                    f"SELECT DISTINCT ?g ?this ?value WHERE {{ "
                    f"{{ {focus} {value} FILTER NOT EXISTS {{ {self.triple('?this', f'<{argument}>', w)} "
                    f"FILTER(sameTerm({w}, ?value)) }} }} UNION "
                    f"{{ {focus} {{ {self.triple('?this', f'<{argument}>', '?value')} }} "
                    f"FILTER NOT EXISTS {{ {mine} FILTER(sameTerm({w}, ?value)) }} }} }}"
                )
            else:
                query = (
                    f"SELECT DISTINCT ?g ?this ?value WHERE {{ {focus} {value} {{ {other} }} "
                    f"FILTER({self.pair_violation(parameter, '?value', o)}) }}"
                )
        else:
            ok = self.value_ok(parameter, argument, shape, "?value")
            if ok is None:
                raise UnsupportedShape(f"unsupported constraint parameter {parameter} on {shape}")
            value = f"{{ {self.values(path, '?this', '?value')} }}" if path is not None else "BIND(?this AS ?value)"
            query = f"SELECT DISTINCT ?g ?this ?value WHERE {{ {focus} {value} FILTER(!({ok})) }}"
        return Check(
            query=query,
            component=component,
            node_shape=node_shape,
            source_shape=shape,
            path=path,
            message=self.message(shape) or _default_message(component, path),
            severity=self.severity(shape),
            value_from="value" if reports_value else None,
        )


_COMPONENTS = {
    SH.minCount: "MinCountConstraintComponent",
    SH.maxCount: "MaxCountConstraintComponent",
    SH.datatype: "DatatypeConstraintComponent",
    SH["class"]: "ClassConstraintComponent",
    SH.nodeKind: "NodeKindConstraintComponent",
    SH.pattern: "PatternConstraintComponent",
    SH["in"]: "InConstraintComponent",
    SH.hasValue: "HasValueConstraintComponent",
    SH.minInclusive: "MinInclusiveConstraintComponent",
    SH.maxInclusive: "MaxInclusiveConstraintComponent",
    SH.minExclusive: "MinExclusiveConstraintComponent",
    SH.maxExclusive: "MaxExclusiveConstraintComponent",
    SH.minLength: "MinLengthConstraintComponent",
    SH.maxLength: "MaxLengthConstraintComponent",
    SH.lessThan: "LessThanConstraintComponent",
    SH.lessThanOrEquals: "LessThanOrEqualsConstraintComponent",
    SH.equals: "EqualsConstraintComponent",
    SH.disjoint: "DisjointConstraintComponent",
    SH.node: "NodeConstraintComponent",
    SH["or"]: "OrConstraintComponent",
    SH["and"]: "AndConstraintComponent",
    SH["not"]: "NotConstraintComponent",
    SH.xone: "XoneConstraintComponent",
}


def _default_message(component: str, path: Path | None) -> str:
    where = f" on {path}" if path is not None else ""
    return f"does not conform to the shapes ({component}{where})"


def subclass_closure(edges: Iterable[tuple[str, str]]) -> Callable[[URIRef], set[URIRef]]:
    """From (subclass, superclass) pairs, a function giving every (transitive) subclass of a class."""
    children: dict[str, set[str]] = {}
    for sub, sup in edges:
        children.setdefault(str(sup), set()).add(str(sub))

    def below(cls: URIRef) -> set[URIRef]:
        seen: set[str] = set()
        todo = [str(cls)]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return {URIRef(c) for c in seen}

    return below


@dataclass
class CompiledShapes:
    """The compiled checks, and the updates that must run on the staging store before them."""

    prepare: list[str]  # SPARQL updates recording each node shape's focus nodes (empty if not materialised)
    queries: list[Query]

    @property
    def checks(self) -> list[Check]:
        return [check for query in self.queries for check in query.checks]

    def run(self, store: pyoxigraph.Store) -> Iterator[Violation]:
        """Run every check over a staging store (after recording the focus nodes in it)."""
        for update in self.prepare:
            store.update(update)
        for query in self.queries:
            if query.may_find(store):
                yield from query.violations(store.query(query.text))

    def clear(self, store: pyoxigraph.Store) -> None:
        """Remove the derived graphs (so the store can be checked again after a change)."""
        for graph in list(store.named_graphs()):
            if graph.value.startswith(DERIVED_GRAPH_PREFIX):
                store.remove_graph(graph)


def compile_shapes(
    shapes: Graph,
    subclasses: Callable[[URIRef], set[URIRef]],
    context_graph: str = CONTEXT_GRAPH,
    *,
    materialize: bool = True,
) -> CompiledShapes:
    """Every check of every node shape with a target in SHAPES, as SPARQL SELECT queries.

    The staging store holds each file in its own named graph and the context in CONTEXT_GRAPH.
    With MATERIALIZE (the default), each node shape's focus nodes are found once, by an
    ``INSERT … WHERE`` run before the checks into a graph ``urn:kg:staging:focus:N``, and each
    check starts from there; without it every check finds them again in a sub-query (read-only
    stores), which is several times slower.
    """
    compiler = _Compiler(shapes, subclasses, context_graph)
    node_shapes = set(shapes.subjects(RDF.type, SH.NodeShape))
    for parameter in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
        node_shapes |= set(shapes.subjects(parameter, None))
    prepare: list[str] | None = [] if materialize else None
    queries = []
    for shape in sorted(node_shapes, key=str):
        if shapes.value(shape, SH.path) is not None:
            raise UnsupportedShape(f"property shapes with their own targets are not supported ({shape})")
        queries.extend(compiler.compile_node_shape(shape, prepare))
    return CompiledShapes(prepare or [], queries)


def run_checks(store: pyoxigraph.Store, compiled: CompiledShapes) -> Iterator[Violation]:
    """Run every compiled check over a staging store; one violation per result row."""
    return compiled.run(store)


def _by_text(pair) -> tuple[str, str]:
    return (str(pair[0]), str(pair[1]))
