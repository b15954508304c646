"""Bulk loading: validate many files at once with compiled SHACL checks, then write them in batches.

``kg.load.Loader`` validates each file with pyshacl (10–30 ms a file with its context) and
writes each as one SPARQL Update request; at 100k files that is hours. :class:`BulkLoader`
gives the same result — the same reports, the same graphs, the same provenance, the same
all-or-nothing and ``keep_going`` semantics, the same :class:`~kg.load.LoadSummary` — faster:

1. **Stage.** Every file is parsed strictly by pyoxigraph into its own named graph of an
   in-memory staging store, beside one context graph: the ontology, the SKOS schemes, the
   reference data and an ``rdf:type kg:Update`` triple for every update the knowledge graph
   knows (the validator's, the target store's and the batch's own). A file that does not parse
   is reported by :class:`kg.validate.Validator` itself, so its message is the usual one.
2. **Check.** The shapes are compiled once into SPARQL SELECT queries (:mod:`kg.shacl_sparql`)
   that find, for all files at once, the violations pyshacl finds for each file with its context
   (a test keeps the two in agreement over every fixture). Only the few files with problems are
   turned into :class:`~kg.validate.Problem` objects, with the validator's own helpers (labels,
   prefixed names, line numbers from :func:`kg.positions.index_turtle`).
3. **Write.** Files whose graph is new go in batches: each batch's graphs and their provenance
   (exactly the triples :meth:`Store.replace_graph` records) in one atomic write — on the
   embedded store one ``bulk_load`` of N-Quads, which Oxigraph applies atomically (its bulk
   loader writes SST files and ingests them at commit), elsewhere one SPARQL Update request —
   followed by the version bump (by the number of files, so the version ends where per-file
   loads would leave it). Files whose graph already exists are replaced in batched SPARQL
   Update requests that drop, insert, record provenance and bump the version together, as
   ``replace_graph`` does for one. Unchanged files (same sha256 and size) are left alone.
   Either way every graph is wholly old or wholly new after a crash.

A file that states ``rdfs:subClassOf`` triples the context does not have (a new ontology file)
changes the class hierarchy the checks were compiled with; it is validated by pyshacl instead.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SH

from .errors import KGError
from .load import FileLoad, LoadRefused, LoadSummary, _duplicate_problem, file_label, graph_iri_for, store_updates
from .namespaces import KG, bind_prefixes
from .positions import index_turtle
from .shacl_sparql import CONTEXT_GRAPH, CompiledShapes, Violation, compile_shapes, subclass_closure
from .store.base import (
    META_GRAPH,
    STORE_NODE,
    Store,
    StoreError,
    WriteOutcome,
    _activity_iri,
    _activity_triples,
    _comparable,
    _forget_graph_state,
    _now,
    _triples_text,
)
from .store.embedded import EmbeddedStore, to_rdflib
from .validate import _LABEL_PROPERTIES, FileReport, Problem, Validator, format_human, turtle_files

_FILE_GRAPH = "urn:kg:staging:file:"
_RDF_TYPE = pyoxigraph.NamedNode(str(RDF.type))
_UPDATE = pyoxigraph.NamedNode(str(KG.Update))
_CONTEXT = pyoxigraph.NamedNode(CONTEXT_GRAPH)


@dataclass
class _File:
    """What the bulk loader knows about one file."""

    path: Path
    index: int
    text: bytes | None = None
    sha256: str | None = None
    report: FileReport | None = None
    staged: bool = False  # parsed into the staging store
    updates: list[str] = field(default_factory=list)
    graph: str | None = None
    triples: int = 0
    comparable: int = 0  # distinct triples with blank nodes as one placeholder (for +added)
    has_blank_nodes: bool = False

    @property
    def staging_graph(self) -> pyoxigraph.NamedNode:
        return pyoxigraph.NamedNode(f"{_FILE_GRAPH}{self.index}")


class BulkLoader:
    """Validates and loads many files into one store; the same results as :class:`kg.load.Loader`.

    ``batch_size`` files go into each atomic write; ``threads`` run the compiled checks side by
    side (pyoxigraph evaluates queries without holding the GIL).
    """

    def __init__(self, store: Store, validator: Validator | None = None, *, batch_size: int = 5000, threads: int = 2):
        self.store = store
        self.validator = validator or Validator()
        self.batch_size = batch_size
        self.threads = threads
        self.timings: dict[str, float] = {}

    # -- the whole load ------------------------------------------------------------------------

    def load(
        self,
        paths: Iterable[str | Path],
        *,
        keep_going: bool = False,
        progress: Callable[[FileLoad], None] | None = None,
    ) -> LoadSummary:
        """Validate every file, then (if all conform, or with KEEP_GOING the valid ones) load them."""
        import time

        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.timings[name] = self.timings.get(name, 0.0) + now - clock
            clock = now

        files = [_File(path, i) for i, path in enumerate(turtle_files(paths))]
        if not files:
            raise KGError("no Turtle files to load", "name .ttl files or folders that hold them")
        staging = pyoxigraph.Store()
        self._stage(staging, files)
        lap("stage")
        self._describe(staging, files)
        lap("describe")
        self._validate(staging, files)
        lap("validate")

        summary = LoadSummary()
        owners: dict[str, str] = {}
        for f in files:
            if f.staged:
                if f.graph in owners:
                    f.report.problems.append(_duplicate_problem(f.path, f.graph, owners[f.graph]))
                owners.setdefault(f.graph, str(f.path))
            summary.loads.append(FileLoad(str(f.path), f.graph, f.report))
        if summary.failed and not keep_going:
            raise LoadRefused(
                [item.report for item in summary.loads],
                format_human([item.report for item in summary.loads]).rsplit("\n", 1)[0]
                + f"\nnothing was loaded: {len(summary.failed)} of {len(files)} file(s) failed validation",
                "mend them and load again, or pass --keep-going to load the files that conform",
            )
        self._write(staging, files, summary, progress)
        lap("write")
        return summary

    # -- 1. stage ------------------------------------------------------------------------------

    def _stage(self, staging: pyoxigraph.Store, files: Sequence[_File]) -> None:
        """Parse every file into its staging graph; files that fail get the validator's report."""
        v = self.validator
        for folder, what in ((v.ontology_dir, "ontology"), (v.reference_dir, "reference data")):
            found = sorted(folder.glob("*.ttl")) if folder.is_dir() else []
            if not found:
                raise KGError(f"no {what} found in {folder}", "set KG_ONTOLOGY / KG_DATA or run from the project folder")
            for path in found:
                try:
                    staging.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE, to_graph=_CONTEXT)
                except SyntaxError as error:
                    raise KGError(f"the {what} file {path} does not parse: {error}", "run `kg validate` on it") from error
        for f in files:
            try:
                f.text = f.path.read_bytes()
            except OSError:
                f.report = v.validate_file(f.path)  # the validator's "cannot read the file" report
                continue
            f.sha256 = hashlib.sha256(f.text).hexdigest()
            try:
                staging.load(input=f.text, format=pyoxigraph.RdfFormat.TURTLE, to_graph=f.staging_graph)
            except (SyntaxError, ValueError, UnicodeDecodeError):
                f.report = v.validate_file(f.path, f.text)  # the validator's syntax report, line and column
                continue
            f.staged = True
            f.report = FileReport(str(f.path))

    # -- 2. describe: updates, graph names, sizes ----------------------------------------------

    def _describe(self, staging: pyoxigraph.Store, files: Sequence[_File]) -> None:
        by_graph = {f.staging_graph.value: f for f in files if f.staged}
        for row in staging.query(f"SELECT ?g ?u WHERE {{ GRAPH ?g {{ ?u a <{KG.Update}> }} }}"):
            f = by_graph.get(row["g"].value)
            if f is not None:  # blank nodes too: a file holds one update, whatever its IRI
                f.updates.append(row["u"].value)
        counts = staging.query(
            "SELECT ?g (COUNT(*) AS ?n) (SUM(IF(isBlank(?s) || isBlank(?o), 1, 0)) AS ?b) "
            "WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
        for row in counts:
            f = by_graph.get(row["g"].value)
            if f is not None:
                f.triples = int(row["n"].value)
                f.has_blank_nodes = int(row["b"].value) > 0
        for f in by_graph.values():
            f.updates.sort()
            f.graph = graph_iri_for(f.path, f.updates)
            f.report.triples = f.triples
            f.comparable = self._comparable_count(staging, f) if f.has_blank_nodes else f.triples

    @staticmethod
    def _comparable_count(staging: pyoxigraph.Store, f: _File) -> int:
        """len(_comparable(triples)) as Store.replace_graph counts a new graph's added triples."""
        return len(_comparable(set(_rdflib_triples(staging, f.staging_graph))))

    # -- 3. validate ---------------------------------------------------------------------------

    def _validate(self, staging: pyoxigraph.Store, files: Sequence[_File]) -> None:
        v = self.validator
        known = set(v.known_updates) | store_updates(self.store)
        known.update(u for f in files for u in f.updates)
        v.known_updates |= known  # as Loader does: later validations know these updates too
        staging.extend(pyoxigraph.Quad(pyoxigraph.NamedNode(u), _RDF_TYPE, _UPDATE, _CONTEXT) for u in known)

        # the class hierarchy the checks are compiled with: the context's
        sub_class_of = f"<{RDFS.subClassOf}>"
        edges = {
            (r["s"].value, r["o"].value)
            for r in staging.query(f"SELECT ?s ?o WHERE {{ GRAPH <{CONTEXT_GRAPH}> {{ ?s {sub_class_of} ?o }} }}")
        }
        by_graph = {f.staging_graph.value: f for f in files if f.staged}
        fallback: set[int] = set()
        for r in staging.query(f"SELECT ?g ?s ?o WHERE {{ GRAPH ?g {{ ?s {sub_class_of} ?o }} }}"):
            f = by_graph.get(r["g"].value)
            if f is not None and (r["s"].value, r["o"].value) not in edges:
                fallback.add(f.index)
        compiled = compile_shapes(v.shapes, subclass_closure(edges))
        violations = self._run(staging, compiled)

        found: dict[str, list[Violation]] = defaultdict(list)
        for violation in violations:
            found[violation.graph.value].append(violation)
        for f in files:
            if not f.staged:
                continue
            if f.index in fallback:
                report = v.validate_file(f.path, f.text)
                f.report.problems = report.problems
                continue
            problems = found.get(f.staging_graph.value, [])
            if problems or len(f.updates) > 1:
                f.report.problems = self._problems(staging, f, problems)

    def _run(self, staging: pyoxigraph.Store, compiled: CompiledShapes) -> list[Violation]:
        for update in compiled.prepare:
            staging.update(update)

        def run(check):
            rows = staging.query(check.query)
            return [Violation(r["g"], r["this"], r["value"] if check.reports_value else None, check) for r in rows]

        if self.threads <= 1:
            return [v for check in compiled.checks for v in run(check)]
        with ThreadPoolExecutor(self.threads) as pool:
            return [v for rows in pool.map(run, compiled.checks) for v in rows]

    def _problems(self, staging: pyoxigraph.Store, f: _File, violations: list[Violation]) -> list[Problem]:
        """The validator's Problem objects for one file, from its violations and its own rules."""
        v = self.validator
        name = str(f.path)
        text = f.text.decode("utf-8")
        index = index_turtle(text)
        problems: list[Problem] = []
        if len(f.updates) > 1:
            parsed = Graph()
            parsed.parse(data=f.text, format="turtle")
            problems.extend(v._file_rules(name, parsed, index))
        if violations:
            data = Graph()
            for triple in _rdflib_triples(staging, f.staging_graph):
                data.add(triple)
            for violation in violations:  # the context's labels of the resources in question
                focus = to_rdflib(violation.focus)
                for prop in _LABEL_PROPERTIES:
                    for label in v.context.objects(focus, prop):
                        data.add((focus, prop, label))
            bind_prefixes(data)
            report = Graph()
            for violation in violations:
                result = _result_node(report, violation)
                problems.append(v._problem(name, data, v.shapes, index, report, result))
        problems.sort(key=lambda p: (p.line or 0, p.focus or "", p.path or ""))
        return problems

    # -- 4. write ------------------------------------------------------------------------------

    def _write(self, staging, files: Sequence[_File], summary: LoadSummary, progress) -> None:
        items = summary.loads  # in file order, like files
        accepted = [f for f, item in zip(files, items) if item.report.conforms]
        state = self._current_state([f.graph for f in accepted])
        new, replaced = [], []
        for f in accepted:
            info, old_count = state[f.graph]
            if info is not None and info.sha256 == f.sha256 and old_count == f.triples:
                items[f.index].outcome = WriteOutcome(f.graph, 0, 0, f.triples, unchanged=True, activity=info.load)
            elif info is None and old_count == 0:
                new.append(f)
            else:
                replaced.append(f)
        pending = {f.index for f in new + replaced}
        reported = 0

        def report_progress() -> None:  # in file order, as far as every earlier file is done
            nonlocal reported
            while reported < len(items) and reported not in pending:
                if progress is not None:
                    progress(items[reported])
                reported += 1

        report_progress()
        for batch, write in [
            *((b, self._write_new) for b in _batches(new, self.batch_size)),
            *((b, self._write_replaced) for b in _batches(replaced, min(self.batch_size, 500))),
        ]:
            for f, outcome in zip(batch, write(staging, batch)):
                items[f.index].outcome = outcome
                pending.discard(f.index)
            report_progress()

    def _current_state(self, graphs: list[str]) -> dict[str, tuple]:
        """graph -> (GraphInfo or None, triples it holds) for the graphs about to be written."""
        state: dict[str, tuple] = {}
        if not graphs:
            return state
        infos = {}
        sizes: dict[str, int] = {}
        unique = sorted(set(graphs))
        for chunk in _batches(unique, 500):
            values = " ".join(f"<{g}>" for g in chunk)
            for info in _described(self.store, values):
                infos[info.iri] = info
            result = self.store.query(
                f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g",
                union=False,
            )
            for row in result.rows:
                sizes[str(row["g"])] = int(row["n"])
        for g in unique:
            state[g] = (infos.get(g), sizes.get(g, 0))
        return state

    def _write_new(self, staging: pyoxigraph.Store, batch: list[_File]) -> list[WriteOutcome]:
        """Graphs the store does not have yet: data and provenance in one atomic write."""
        outcomes, provenance = [], []
        for f in batch:
            activity, triples = _provenance(f, added=f.comparable, removed=0)
            provenance.extend(triples)
            outcomes.append(WriteOutcome(f.graph, f.comparable, 0, f.triples, activity=activity))
        if isinstance(self.store, EmbeddedStore):
            chunks = [_graph_nquads(staging, f) for f in batch]
            meta = f"<{META_GRAPH}>"
            chunks.append("".join(f"{s.n3()} {p.n3()} {_nt_term(o)} {meta} .\n" for s, p, o in provenance).encode())
            try:
                self.store.oxigraph.bulk_load(input=b"".join(chunks), format=pyoxigraph.RdfFormat.N_QUADS)
            except OSError as error:
                raise StoreError(
                    f"the {self.store.description} could not be written: {error}",
                    "check free disk space and the folder's permissions; the graphs of this batch were not written",
                ) from error
            self.store._update(_bump_version_by(len(batch)))
        else:
            body = [_bump_version_by(len(batch))]
            inserts = [f"GRAPH <{f.graph}> {{\n{_graph_ntriples(staging, f)}}}" for f in batch]
            inserts.append(f"GRAPH <{META_GRAPH}> {{\n{_triples_text(provenance)}\n}}")
            body.append("INSERT DATA {\n" + "\n".join(inserts) + "\n}")
            self.store._update(" ;\n".join(body))
        return outcomes

    def _write_replaced(self, staging: pyoxigraph.Store, batch: list[_File]) -> list[WriteOutcome]:
        """Graphs the store has: drop, insert, provenance and version in one SPARQL Update request."""
        outcomes, provenance, body = [], [], [_bump_version_by(len(batch))]
        inserts = []
        for f in batch:
            new = _comparable(set(_rdflib_triples(staging, f.staging_graph)))
            old = _comparable(self.store.graph_triples(f.graph))
            added, removed = len(new - old), len(old - new)
            activity, triples = _provenance(f, added=added, removed=removed)
            provenance.extend(triples)
            outcomes.append(WriteOutcome(f.graph, added, removed, f.triples, activity=activity))
            body.append(f"DROP SILENT GRAPH <{f.graph}>")
            body.append(_forget_graph_state(f.graph))
            if f.triples:
                inserts.append(f"GRAPH <{f.graph}> {{\n{_graph_ntriples(staging, f)}}}")
        inserts.append(f"GRAPH <{META_GRAPH}> {{\n{_triples_text(provenance)}\n}}")
        body.append("INSERT DATA {\n" + "\n".join(inserts) + "\n}")
        self.store._update(" ;\n".join(body))
        return outcomes


# -- helpers ----------------------------------------------------------------------------------


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rdflib_triples(staging: pyoxigraph.Store, graph: pyoxigraph.NamedNode):
    for q in staging.quads_for_pattern(None, None, None, graph):
        yield (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object))


def _graph_ntriples(staging: pyoxigraph.Store, f: _File) -> str:
    return staging.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=f.staging_graph).decode("utf-8")


def _graph_nquads(staging: pyoxigraph.Store, f: _File) -> bytes:
    # N-Triples escapes line breaks inside literals, so " .\n" only ends a line
    text = staging.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=f.staging_graph)
    return text.replace(b" .\n", f" <{f.graph}> .\n".encode())


def _nt_term(term) -> str:
    """An rdflib term as N-Triples (rdflib's n3() may use Turtle's long strings)."""
    if isinstance(term, Literal):
        escaped = (
            str(term).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        )
        if term.language:
            return f'"{escaped}"@{term.language}'
        if term.datatype is not None:
            return f'"{escaped}"^^<{term.datatype}>'
        return f'"{escaped}"'
    return term.n3()


def _provenance(f: _File, *, added: int, removed: int) -> tuple[str, list]:
    """The metadata-graph triples Store.replace_graph records for one load."""
    activity = _activity_iri()
    now = _now()
    graph = URIRef(f.graph)
    label = file_label(f.path)
    triples = [
        (graph, RDF.type, KG.LoadedGraph),
        (graph, KG.fileName, Literal(label)),
        (graph, KG.sha256, Literal(f.sha256)),
        (graph, KG.tripleCount, Literal(f.triples)),
        (graph, DCTERMS.modified, now),
        (graph, PROV.wasGeneratedBy, URIRef(activity)),
        *_activity_triples(activity, KG.Load, f.graph, now, f.triples, added, removed, label, f.sha256),
    ]
    return activity, triples


def _bump_version_by(n: int) -> str:
    """base._bump_version, by N: a batch of N loads leaves the version where N single loads would."""
    return (
        f"DELETE {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?v }} }}\n"
        f"INSERT {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> a <{KG.StoreState}> ; <{KG.storeVersion}> ?next }} }}\n"
        f"WHERE {{ OPTIONAL {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?v }} }}"
        f" BIND(COALESCE(?v + {int(n)}, {int(n)}) AS ?next) }}"
    )


def _described(store: Store, values: str):
    """GraphInfo of the listed graphs (VALUES text of IRIs), as Store._described_graphs reads them."""
    from .store.base import GraphInfo

    result = store.query(
        f"""
        SELECT ?g ?file ?sha ?n ?time ?load WHERE {{ VALUES ?g {{ {values} }} GRAPH <{META_GRAPH}> {{
          ?g a <{KG.LoadedGraph}> ; <{KG.fileName}> ?file ; <{KG.sha256}> ?sha ;
             <{KG.tripleCount}> ?n ; <{DCTERMS.modified}> ?time ; <{PROV.wasGeneratedBy}> ?load .
        }} }}""",
        union=False,
    )
    return [
        GraphInfo(str(r["g"]), int(r["n"]), str(r["file"]), str(r["sha"]), str(r["time"]), str(r["load"]))
        for r in result.rows
    ]


def _result_node(report: Graph, violation: Violation):
    """A sh:ValidationResult in REPORT, shaped as pyshacl writes it, for Validator._problem."""
    from rdflib import BNode

    check = violation.check
    node = BNode()
    report.add((node, RDF.type, SH.ValidationResult))
    report.add((node, SH.focusNode, to_rdflib(violation.focus)))
    if check.path is not None:
        if check.path.inverse:
            path = BNode()
            report.add((path, SH.inversePath, URIRef(check.path.predicate)))
        else:
            path = URIRef(check.path.predicate)
        report.add((node, SH.resultPath, path))
    if violation.value is not None:
        report.add((node, SH.value, to_rdflib(violation.value)))
    report.add((node, SH.resultMessage, Literal(check.message)))
    report.add((node, SH.resultSeverity, SH[check.severity.title()]))
    report.add((node, SH.sourceConstraintComponent, SH[check.component]))
    report.add((node, SH.sourceShape, URIRef(check.node_shape) if check.node_shape else check.source_shape))
    return node
