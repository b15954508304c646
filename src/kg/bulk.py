"""Bulk loading: validate many files at once with compiled SHACL checks, then write them together.

``kg.load.Loader`` validates each file with pyshacl (10–30 ms a file with its context) and
writes each as one SPARQL Update request; at 100k files that is hours. :class:`BulkLoader`
gives the same result — the same reports, the same graphs, the same provenance, the same
all-or-nothing and ``keep_going`` semantics, the same :class:`~kg.load.LoadSummary` — faster:

1. **Stage.** Every file is parsed strictly by pyoxigraph into its own named graph of an
   in-memory staging store, beside one context graph: the ontology, the SKOS schemes, the
   reference data and an ``rdf:type kg:Update`` triple for every update the knowledge graph
   knows (the validator's, the target store's and the batch's own; for a small batch only those
   the files or the context mention, which are all that can matter, so that loading one file
   costs the same in a store of 100k updates as in an empty one). A file that cannot be read or
   parsed is reported by :class:`kg.validate.Validator` itself, so its message is the usual one.
2. **Check.** The shapes are compiled once into SPARQL SELECT queries (:mod:`kg.shacl_sparql`)
   that find, for all files at once, the violations pyshacl finds for each file with its context
   (a test keeps the two in agreement over every fixture). Only the files with problems are
   turned into :class:`~kg.validate.Problem` objects, with the validator's own helpers (labels,
   prefixed names, line numbers from :func:`kg.positions.index_turtle`).
3. **Write.** Files whose graph the store does not have yet are written together: on the
   embedded store as one ``bulk_load`` of N-Quads holding their graphs and their provenance
   (exactly the triples :meth:`Store.replace_graph` records), which Oxigraph applies atomically
   (its bulk loader writes SST files and ingests them all at commit; under ``BULK_FROM`` triples
   a transactional ``load``); on a SPARQL server as batched SPARQL Update requests. The version
   is then bumped by the number of files, so it ends where per-file loads would leave it — on the
   embedded store in a second, tiny transaction: a crash between the two leaves the new graphs
   and their provenance written and the version not yet bumped. Files whose graph exists are
   replaced in batched SPARQL Update requests that drop, insert, record provenance and bump the
   version together, as ``replace_graph`` does for one file. Unchanged files (same sha256 and
   size) are left alone. Every graph is wholly old or wholly new after a crash (a test kills
   bulk loads to check it).

Stages 1 and 2 run in partitions of the files, one per core: the first in this process, the
others in worker processes (started with ``spawn``: a script that bulk-loads must guard its entry
point with ``if __name__ == "__main__":``), each with its own staging store (a file's checks only
ever see the file and the context, so partitions are independent).

A file that states ``rdfs:subClassOf`` triples the context does not have (a new ontology file)
changes the class hierarchy the checks are compiled with; it is validated by pyshacl instead.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SH, XSD

from .errors import KGError
from .load import FileLoad, LoadRefused, LoadSummary, _duplicate_problem, file_label, graph_iri_for, store_updates
from .namespaces import ID, KG, bind_prefixes
from .positions import index_turtle
from .shacl_sparql import CONTEXT_GRAPH, Violation, compile_shapes, subclass_closure
from .store.base import (
    META_GRAPH,
    STORE_NODE,
    GraphInfo,
    Store,
    StoreError,
    WriteOutcome,
    _activity_iri,
    _activity_triples,
    _check_graph_iri,
    _comparable,
    _forget_graph_state,
    _now,
    _triples_text,
)
from .store.embedded import EmbeddedStore, to_rdflib
from .validate import (
    _LABEL_PROPERTIES, MAX_FILE_BYTES, MAX_NESTING, FileReport, Problem, Validator, format_human,
    quiet_rdflib_terms, turtle_files,
)

_FILE_GRAPH = "urn:kg:staging:file:"
_RDF_TYPE = pyoxigraph.NamedNode(str(RDF.type))
_UPDATE = pyoxigraph.NamedNode(str(KG.Update))
_CONTEXT = pyoxigraph.NamedNode(CONTEXT_GRAPH)

#: Below this many files everything runs in this process (a worker costs ~1 s to start).
PARALLEL_FROM = 2000
#: A batch of at most MENTIONED_FILES files (per partition) mentioning at most MENTIONED_LIMIT
#: IRIs asks the store only about those, so that a small load costs the same in a big store.
MENTIONED_FILES = 2_000
MENTIONED_LIMIT = 50_000
#: From this many triples new graphs go in with Oxigraph's bulk loader rather than a transaction.
BULK_FROM = 5_000


@dataclass
class _FileInfo:
    """What staging learnt about one file (sent from a partition to the loader)."""

    index: int
    path: Path
    report: FileReport
    staged: bool = False  # parsed into the staging store
    sha256: str | None = None
    label: str = ""  # the file name recorded in provenance (kg.load.file_label)
    updates: list[str] = field(default_factory=list)
    graph: str | None = None
    triples: int = 0
    comparable: int = 0  # distinct triples with blank nodes as one placeholder (Store.replace_graph's +added)


# -- a partition: staging store and checks for some of the files ----------------------------------


class _Partition:
    """Stages, checks and serialises a share of the files, in this process or a worker."""

    def __init__(self, ontology_dir: str, shapes_dir: str, reference_dir: str, threads: int = 1):
        self.validator = Validator(ontology_dir, shapes_dir, reference_dir, known_updates=[])
        self.threads = threads
        self.staging = pyoxigraph.Store()
        self.files: dict[int, _FileInfo] = {}
        self.texts: dict[int, bytes] = {}
        self.blank: set[int] = set()  # files with blank nodes

    @staticmethod
    def graph(index: int) -> pyoxigraph.NamedNode:
        return pyoxigraph.NamedNode(f"{_FILE_GRAPH}{index}")

    # stage ----------------------------------------------------------------------------------

    def stage(self, items: list[tuple[int, str]]) -> list[_FileInfo]:
        """Parse the files (index, path) into the staging store, beside the context; what each holds."""
        v = self.validator
        for folder, what in ((v.ontology_dir, "ontology"), (v.reference_dir, "reference data")):
            found = sorted(folder.glob("*.ttl")) if folder.is_dir() else []
            if not found:
                raise KGError(f"no {what} found in {folder}", "set KG_ONTOLOGY / KG_DATA or run from the project folder")
            for path in found:
                try:
                    self.staging.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE, to_graph=_CONTEXT)
                except SyntaxError as error:
                    raise KGError(f"the {what} file {path} does not parse: {error}", "run `kg validate` on it") from error
        labels = _FileLabels()
        for index, name in items:
            path = Path(name)
            try:
                text = path.read_bytes()
            except OSError:
                self.files[index] = _FileInfo(index, path, v.validate_file(path))  # "cannot read the file"
                continue
            if _validator_decides(text):  # what the staging parser accepts but `kg validate` refuses
                report = v.validate_file(path, text)
                if not report.conforms:
                    self.files[index] = _FileInfo(index, path, report)
                    continue
            try:
                self.staging.load(input=text, format=pyoxigraph.RdfFormat.TURTLE, to_graph=self.graph(index))
            except (SyntaxError, ValueError, UnicodeDecodeError):
                self.files[index] = _FileInfo(index, path, v.validate_file(path, text))  # line and column
                continue
            self.texts[index] = text
            self.files[index] = _FileInfo(
                index, path, FileReport(name), staged=True, sha256=hashlib.sha256(text).hexdigest(), label=labels(path)
            )
        self._describe()
        return list(self.files.values())

    def _staged(self, graph: pyoxigraph.NamedNode | pyoxigraph.BlankNode) -> _FileInfo | None:
        value = graph.value
        if not value.startswith(_FILE_GRAPH):
            return None
        return self.files.get(int(value[len(_FILE_GRAPH) :]))

    def _describe(self) -> None:
        for row in self.staging.query(f"SELECT ?g ?u WHERE {{ GRAPH ?g {{ ?u a <{KG.Update}> }} }}"):
            f = self._staged(row["g"])
            if f is not None:  # blank nodes too: a file holds one update, whatever its IRI
                f.updates.append(row["u"].value)
        blank = self.blank
        counts = self.staging.query(
            "SELECT ?g (COUNT(*) AS ?n) (SUM(IF(isBlank(?s) || isBlank(?o), 1, 0)) AS ?b) "
            "WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
        for row in counts:
            f = self._staged(row["g"])
            if f is not None:
                f.triples = int(row["n"].value)
                if int(row["b"].value):
                    blank.add(f.index)
        for f in self.files.values():
            if f.staged and not f.triples:  # an empty file: the validator says so, in its words
                f.report, f.staged = self.validator.validate_file(f.path, self.texts.pop(f.index)), False
        for f in self.files.values():
            if not f.staged:
                continue
            f.updates.sort()
            f.graph = graph_iri_for(f.path, f.updates)
            f.report.triples = f.triples
            f.comparable = len(_comparable(set(self.triples(f.index)))) if f.index in blank else f.triples

    def mentioned(self, limit: int) -> set[str] | None:
        """The IRIs the staged files and the context mention (as subject or object) — the only
        ones whose being a known update can change a check — or None if there are more than LIMIT."""
        if len(self.texts) > MENTIONED_FILES:
            return None
        found: set[str] = set()
        query = "SELECT DISTINCT ?x WHERE { GRAPH ?g { { ?x ?p ?o } UNION { ?s ?p ?x } } FILTER(isIRI(?x)) }"
        for row in self.staging.query(query):
            found.add(row["x"].value)
            if len(found) > limit:
                return None
        return found

    # check ----------------------------------------------------------------------------------

    def validate(self, known: set[str]) -> dict[int, list[Problem]]:
        """Problems of the files that have some (the others conform), KNOWN being the known updates."""
        v = self.validator
        v.known_updates = set(known)
        self.staging.extend(pyoxigraph.Quad(pyoxigraph.NamedNode(u), _RDF_TYPE, _UPDATE, _CONTEXT) for u in known)
        sub_class_of = f"<{RDFS.subClassOf}>"
        edges = {
            (r["s"].value, r["o"].value)
            for r in self.staging.query(f"SELECT ?s ?o WHERE {{ GRAPH <{CONTEXT_GRAPH}> {{ ?s {sub_class_of} ?o }} }}")
        }
        fallback: set[int] = set()  # files that extend the class hierarchy: pyshacl checks them
        for r in self.staging.query(f"SELECT ?g ?s ?o WHERE {{ GRAPH ?g {{ ?s {sub_class_of} ?o }} }}"):
            f = self._staged(r["g"])
            if f is not None and (r["s"].value, r["o"].value) not in edges:
                fallback.add(f.index)
        found: dict[int, list[Violation]] = defaultdict(list)
        for violation in self._run(_compiled(v.shapes, edges)):
            f = self._staged(violation.graph)
            # the validator's focus nodes are the file's IRI subjects: blank ones get its file rule
            if f is not None and isinstance(violation.focus, pyoxigraph.NamedNode):
                found[f.index].append(violation)
        problems: dict[int, list[Problem]] = {}
        for f in self.files.values():
            if not f.staged:
                continue
            if f.index in fallback:
                problems[f.index] = v.validate_file(f.path, self.texts[f.index]).problems
            elif f.index in found or len(f.updates) > 1 or f.index in self.blank:
                problems[f.index] = self._problems(f, found.get(f.index, []))
        return problems

    def _run(self, compiled) -> list[Violation]:
        for update in compiled.prepare:
            self.staging.update(update)

        def run(query):
            return list(query.violations(self.staging.query(query.text)))

        queries = [query for query in compiled.queries if query.may_find(self.staging)]
        if self.threads <= 1:
            return [v for query in queries for v in run(query)]
        with ThreadPoolExecutor(self.threads) as pool:  # pyoxigraph evaluates queries without the GIL
            return [v for rows in pool.map(run, queries) for v in rows]

    def _problems(self, f: _FileInfo, violations: list[Violation]) -> list[Problem]:
        """The validator's Problem objects for one file, from its violations and its file rules."""
        v = self.validator
        name = str(f.path)
        text = self.texts[f.index]
        index = index_turtle(text.decode("utf-8"))
        problems: list[Problem] = []
        if len(f.updates) > 1 or f.index in self.blank:  # what the validator's file rules look at
            parsed = Graph()
            parsed.parse(data=text, format="turtle")
            problems.extend(v._file_rules(name, parsed, index))
        if violations:
            data = Graph()  # the file, and the context's labels of the resources in question
            for triple in self.triples(f.index):
                data.add(triple)
            for violation in violations:
                focus = to_rdflib(violation.focus)
                for prop in _LABEL_PROPERTIES:
                    for label in v.context.objects(focus, prop):
                        data.add((focus, prop, label))
            bind_prefixes(data)
            report = Graph()
            for violation in violations:
                problems.append(v._problem(name, data, v.shapes, index, report, _result_node(report, violation)))
        problems.sort(key=lambda p: (p.line or 0, p.focus or "", p.path or ""))
        return problems

    # serialise ------------------------------------------------------------------------------

    def triples(self, index: int) -> list[tuple]:
        """The file's triples as rdflib terms."""
        return [
            (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object))
            for q in self.staging.quads_for_pattern(None, None, None, self.graph(index))
        ]

    def ntriples(self, index: int) -> bytes:
        return self.staging.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=self.graph(index))

    def nquads(self, items: list[tuple[int, str]]) -> bytes:
        """The files' triples as N-Quads in their target graphs."""
        # N-Triples escapes line breaks inside literals, so " .\n" only ever ends a line
        return b"".join(self.ntriples(i).replace(b" .\n", f" <{g}> .\n".encode()) for i, g in items)


def _serve(conn, args) -> None:
    """A worker process: run a partition's methods as the loader asks."""
    try:
        partition = _Partition(*args)
    except BaseException as error:  # noqa: BLE001 — reported to the loader
        conn.send(("error", _describe_error(error)))
        return
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        method, params = message
        try:
            conn.send(("ok", getattr(partition, method)(*params)))
        except BaseException as error:  # noqa: BLE001 — reported to the loader
            conn.send(("error", _describe_error(error)))


def _describe_error(error: BaseException):
    if isinstance(error, KGError):
        return (error.message, error.hint)
    return (f"a bulk-load worker failed: {error!r}", traceback.format_exc(limit=5))


class _Worker:
    """A partition in another process, called through a pipe."""

    def __init__(self, args):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, args), daemon=True)
        self.process.start()
        child.close()

    def send(self, method: str, *params) -> None:
        self.conn.send((method, params))

    def receive(self):
        try:
            status, value = self.conn.recv()
        except EOFError as error:
            raise KGError("a bulk-load worker stopped unexpectedly", "run the load again, or with workers=1") from error
        if status == "error":
            raise KGError(*value)
        return value

    def call(self, method: str, *params):
        self.send(method, *params)
        return self.receive()

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()


class _Local:
    """A partition in this process, with the same calling convention as _Worker."""

    def __init__(self, args, validator: Validator | None = None):
        self.partition = _Partition(*args)
        if validator is not None:  # share the shapes and context already parsed (cached properties)
            for name in ("shapes", "context"):
                if name in vars(validator):
                    vars(self.partition.validator)[name] = vars(validator)[name]
        self._pending = None

    def send(self, method: str, *params) -> None:
        self._pending = (method, params)

    def receive(self):
        method, params = self._pending
        self._pending = None
        return getattr(self.partition, method)(*params)

    def call(self, method: str, *params):
        return getattr(self.partition, method)(*params)

    def close(self) -> None:
        pass


# -- the loader ---------------------------------------------------------------------------------


class BulkLoader:
    """Validates and loads many files into one store, with the results of :class:`kg.load.Loader`.

    ``workers`` partitions the staging and checking over that many processes (this one and
    ``workers - 1`` others; by default one per core, for loads of at least ``PARALLEL_FROM``
    files). ``batch_size`` files go into each SPARQL Update request where one is used.
    """

    def __init__(
        self, store: Store, validator: Validator | None = None, *, workers: int | None = None, batch_size: int = 500
    ):
        self.store = store
        self.validator = validator or Validator()
        self.workers = workers
        self.batch_size = batch_size
        self.timings: dict[str, float] = {}

    def load(
        self,
        paths: Iterable[str | Path],
        *,
        keep_going: bool = False,
        progress: Callable[[FileLoad], None] | None = None,
        labels: dict[str, str] | None = None,
    ) -> LoadSummary:
        """Validate every file, then (if all conform, or with KEEP_GOING the valid ones) load them.

        LABELS maps a file path to the name recorded in provenance, as for Loader.load."""
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.timings[name] = self.timings.get(name, 0.0) + now - clock
            clock = now

        with quiet_rdflib_terms():
            return self._load(paths, keep_going, progress, labels, lap)

    def _load(self, paths, keep_going, progress, labels, lap) -> LoadSummary:
        paths = turtle_files(paths)
        if not paths:
            raise KGError("no Turtle files to load", "name .ttl files or folders that hold them")
        workers = self.workers or (min(os.cpu_count() or 1, 8) if len(paths) >= PARALLEL_FROM else 1)
        workers = max(1, min(workers, len(paths)))
        v = self.validator
        args = (str(v.ontology_dir), str(v.shapes_dir), str(v.reference_dir), 2 if workers == 1 else 1)
        partitions = [_Local(args, v)] + [_Worker(args) for _ in range(workers - 1)]
        try:
            lap("start")
            shares = _split(list(enumerate(map(str, paths))), len(partitions))
            owner: dict[int, object] = {}
            infos: list[_FileInfo] = []
            for partition, share, result in _each(partitions, "stage", [(s,) for s in shares]):
                infos.extend(result)
                owner.update((i, partition) for i, _ in share)
            infos.sort(key=lambda f: f.index)
            for f in infos:
                if labels and str(f.path) in labels:
                    f.label = labels[str(f.path)]
            lap("stage")

            known = self._known_updates(partitions, infos)
            v.known_updates |= known  # as Loader does: the validator now knows these updates too
            lap("known updates")
            for _, _, problems in _each(partitions, "validate", [(known,)] * len(partitions)):
                for index, found in problems.items():
                    infos[index].report.problems = found
            lap("validate")

            summary = LoadSummary()
            owners: dict[str, str] = {}
            for f in infos:
                if f.staged:
                    if f.graph in owners:
                        f.report.problems.append(_duplicate_problem(f.path, f.graph, owners[f.graph]))
                    owners.setdefault(f.graph, str(f.path))
                summary.loads.append(FileLoad(str(f.path), f.graph, f.report))
            if summary.failed and not keep_going:
                raise LoadRefused(
                    [item.report for item in summary.loads],
                    format_human([item.report for item in summary.loads]).rsplit("\n", 1)[0]
                    + f"\nnothing was loaded: {len(summary.failed)} of {len(paths)} file(s) failed validation",
                    "mend them and load again, or pass --keep-going to load the files that conform",
                )
            _Writer(self.store, infos, owner, self.batch_size).write(summary, progress)
            lap("write")
        finally:
            for partition in partitions:
                partition.close()
        return summary


    def _known_updates(self, partitions, infos: list[_FileInfo]) -> set[str]:
        """The updates cross-references may point at: the validator's, the store's and the batch's.

        Only an update the files or the context mention can change what a check finds, so for a
        small batch only the IRIs they mention are looked up in the store: a small load costs the
        same in a store of 100k updates as in an empty one. A big batch reads all of them."""
        v = self.validator
        declared = {u for f in infos for u in f.updates}
        mentioned: set[str] = set()
        for _, _, found in _each(partitions, "mentioned", [(MENTIONED_LIMIT,)] * len(partitions)):
            if found is None:
                return set(v.known_updates) | store_updates(self.store) | declared
            mentioned |= found
        known = (set(v.known_updates) & mentioned) | declared
        return known | store_updates(self.store, mentioned - known)


def _validator_decides(text: bytes) -> bool:
    """Whether a file may hold what kg.validate.Validator refuses before SHACL and the staging
    parser lets through: too big, not UTF-8, or brackets that may nest deeper than MAX_NESTING.
    Cheap tests, so only such rare files pay for the validator's own checks."""
    if len(text) > MAX_FILE_BYTES or text.count(b"[") + text.count(b"(") > MAX_NESTING:
        return True
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


_COMPILED: dict[tuple, tuple] = {}


def _compiled(shapes: Graph, edges: set[tuple[str, str]]):
    """The shapes compiled for this class hierarchy, once per process (shapes graphs are not changed)."""
    key = (id(shapes), frozenset(edges))
    if key not in _COMPILED:
        if len(_COMPILED) >= 4:
            _COMPILED.clear()
        _COMPILED[key] = (shapes, compile_shapes(shapes, subclass_closure(edges)))  # the graph keeps its id
    return _COMPILED[key][1]


def _split(items: list, n: int) -> list[list]:
    """N contiguous shares of ITEMS, as even as can be."""
    size, extra = divmod(len(items), n)
    shares, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        shares.append(items[start:end])
        start = end
    return shares


def _each(partitions, method: str, params: list[tuple]) -> list[tuple]:
    """Call METHOD on every partition at once (workers first, then this process).

    Returns (partition, first parameter, result) for each, every answer read from its pipe."""
    for partition, p in zip(partitions, params):
        if isinstance(partition, _Worker):
            partition.send(method, *p)
    results = [(partition, p, partition.call(method, *p)) for partition, p in zip(partitions, params)
               if not isinstance(partition, _Worker)]
    results += [(partition, p, partition.receive()) for partition, p in zip(partitions, params)
                if isinstance(partition, _Worker)]
    return [(partition, (p[0] if p else None), result) for partition, p, result in results]


# -- writing ------------------------------------------------------------------------------------


class _Writer:
    """Writes the accepted files: new graphs together, existing ones replaced in batches."""

    def __init__(self, store: Store, infos: list[_FileInfo], owner: dict, batch_size: int):
        self.store, self.infos, self.owner, self.batch_size = store, infos, owner, batch_size

    def write(self, summary: LoadSummary, progress) -> None:
        items = summary.loads
        accepted = [f for f, item in zip(self.infos, items) if item.report.conforms]
        for f in accepted:  # as replace_graph does, but before anything is written
            _check_graph_iri(f.graph)
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

        def done(batch, outcomes) -> None:
            for f, outcome in zip(batch, outcomes):
                items[f.index].outcome = outcome
                pending.discard(f.index)
            report_progress()

        report_progress()
        if new and isinstance(self.store, EmbeddedStore):
            done(new, self._bulk_new(new))
        else:
            for batch in _batches(new, self.batch_size):
                done(batch, self._update_new(batch))
        for batch in _batches(replaced, self.batch_size):
            done(batch, self._replace(batch))

    def _current_state(self, graphs: list[str]) -> dict[str, tuple[GraphInfo | None, int]]:
        """graph -> (its provenance or None, how many triples it holds) for the graphs to write."""
        infos: dict[str, GraphInfo] = {}
        sizes: dict[str, int] = {}
        unique = sorted(set(graphs))
        for chunk in _batches(unique, 500):
            values = " ".join(f"<{g}>" for g in chunk)
            infos.update((info.iri, info) for info in _described(self.store, values))
            result = self.store.query(
                f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g",
                union=False,
            )
            sizes.update((str(row["g"]), int(row["n"])) for row in result.rows)
        return {g: (infos.get(g), sizes.get(g, 0)) for g in unique}

    def _chunks(self, files: list[_FileInfo], size: int = 2000) -> Iterator[list[_FileInfo]]:
        yield from _batches(files, size)

    def _nquads(self, batch: list[_FileInfo]) -> bytes:
        """The batch's graphs as N-Quads, from the partitions that staged them (asked together)."""
        by_partition: dict[int, tuple[object, list]] = {}
        for f in batch:
            partition = self.owner[f.index]
            by_partition.setdefault(id(partition), (partition, []))[1].append((f.index, f.graph))
        parts = list(by_partition.values())
        return b"".join(result for _, _, result in _each([p for p, _ in parts], "nquads", [(items,) for _, items in parts]))

    def _bulk_new(self, new: list[_FileInfo]) -> list[WriteOutcome]:
        """Graphs the embedded store does not have: data and provenance in one atomic bulk load."""
        outcomes: list[WriteOutcome] = []

        def chunks() -> Iterator[bytes]:
            for batch in self._chunks(new):
                yield self._nquads(batch)
                provenance = []
                for f in batch:
                    activity, text = _provenance_nquads(f, added=f.comparable, removed=0)
                    outcomes.append(WriteOutcome(f.graph, f.comparable, 0, f.triples, activity=activity))
                    provenance.append(text)
                yield "".join(provenance).encode("utf-8")

        # Both are atomic; the bulk loader (SST files ingested at commit) is faster for many quads.
        # The text is pyoxigraph's own serialisation of files it parsed strictly: lenient is safe.
        write = self.store.oxigraph.bulk_load if sum(f.triples for f in new) >= BULK_FROM else self.store.oxigraph.load
        try:
            write(input=_ChunkReader(chunks()), format=pyoxigraph.RdfFormat.N_QUADS, lenient=True)
        except OSError as error:
            raise StoreError(
                f"the {self.store.description} could not be written: {error}",
                "check free disk space and the folder's permissions; none of the new graphs was written",
            ) from error
        self.store._update(_bump_version_by(len(new)))
        return outcomes

    def _update_new(self, batch: list[_FileInfo]) -> list[WriteOutcome]:
        """Graphs a SPARQL server does not have: one Update request for the batch."""
        outcomes, provenance = [], []
        for f in batch:
            activity, triples = _provenance(f, added=f.comparable, removed=0)
            provenance.extend(triples)
            outcomes.append(WriteOutcome(f.graph, f.comparable, 0, f.triples, activity=activity))
        inserts = [f"GRAPH <{f.graph}> {{\n{self._ntriples(f)}}}" for f in batch if f.triples]
        inserts.append(f"GRAPH <{META_GRAPH}> {{\n{_triples_text(provenance)}\n}}")
        self.store._update(" ;\n".join([_bump_version_by(len(batch)), "INSERT DATA {\n" + "\n".join(inserts) + "\n}"]))
        return outcomes

    def _replace(self, batch: list[_FileInfo]) -> list[WriteOutcome]:
        """Graphs the store has: drop, insert, provenance and version in one SPARQL Update request."""
        outcomes, provenance, inserts = [], [], []
        body = [_bump_version_by(len(batch))]
        for f in batch:
            new = _comparable(set(self.owner[f.index].call("triples", f.index)))
            old = _comparable(self.store.graph_triples(f.graph))
            added, removed = len(new - old), len(old - new)
            activity, triples = _provenance(f, added=added, removed=removed)
            provenance.extend(triples)
            outcomes.append(WriteOutcome(f.graph, added, removed, f.triples, activity=activity))
            body += [f"DROP SILENT GRAPH <{f.graph}>", _forget_graph_state(f.graph)]
            if f.triples:
                inserts.append(f"GRAPH <{f.graph}> {{\n{self._ntriples(f)}}}")
        inserts.append(f"GRAPH <{META_GRAPH}> {{\n{_triples_text(provenance)}\n}}")
        body.append("INSERT DATA {\n" + "\n".join(inserts) + "\n}")
        self.store._update(" ;\n".join(body))
        return outcomes

    def _ntriples(self, f: _FileInfo) -> str:
        # N-Triples lines are SPARQL triples; blank node labels are scoped to the request
        return self.owner[f.index].call("ntriples", f.index).decode("utf-8")


class _ChunkReader(io.RawIOBase):
    """A binary stream over an iterator of byte chunks (so the bulk load never holds it all)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


# -- helpers ------------------------------------------------------------------------------------


class _FileLabels:
    """kg.load.file_label for many files, resolving each folder once."""

    def __init__(self):
        self.cwd = Path.cwd()
        self.folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> str:
        if path.is_symlink():
            return file_label(path)
        folder = self.folders.get(path.parent)
        if folder is None:
            folder = self.folders[path.parent] = path.parent.resolve()
        try:
            return os.path.relpath(folder / path.name, self.cwd)
        except ValueError:  # another drive (Windows)
            return str(path)


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _provenance(f: _FileInfo, *, added: int, removed: int) -> tuple[str, list]:
    """The metadata-graph triples Store.replace_graph records for one load (as rdflib terms)."""
    activity = _activity_iri()
    now = _now()
    graph = URIRef(f.graph)
    triples = [
        (graph, RDF.type, KG.LoadedGraph),
        (graph, KG.fileName, Literal(f.label)),
        (graph, KG.sha256, Literal(f.sha256)),
        (graph, KG.tripleCount, Literal(f.triples)),
        (graph, DCTERMS.modified, now),
        (graph, PROV.wasGeneratedBy, URIRef(activity)),
        *_activity_triples(activity, KG.Load, f.graph, now, f.triples, added, removed, f.label, f.sha256),
    ]
    return activity, triples


_INTEGER = f"^^<{XSD.integer}>"
_DATETIME = f"^^<{XSD.dateTime}>"
# predicates and classes of the provenance, as N-Triples text
_P = {
    name: f"<{iri}>"
    for name, iri in {
        "type": RDF.type, "LoadedGraph": KG.LoadedGraph, "fileName": KG.fileName, "sha256": KG.sha256,
        "tripleCount": KG.tripleCount, "modified": DCTERMS.modified, "wasGeneratedBy": PROV.wasGeneratedBy,
        "Load": KG.Load, "graph": KG.graph, "startedAtTime": PROV.startedAtTime, "triplesAdded": KG.triplesAdded,
        "triplesRemoved": KG.triplesRemoved, "used": PROV.used, "meta": META_GRAPH,
    }.items()
}
_LOAD_BASE = f"{ID}load/"


def _provenance_nquads(f: _FileInfo, *, added: int, removed: int) -> tuple[str, str]:
    """What _provenance gives, written straight as N-Quads in the metadata graph (tests keep them equal)."""
    moment = datetime.now(timezone.utc)
    activity = f"{_LOAD_BASE}{moment.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
    now = f'"{moment.isoformat(timespec="microseconds")}"{_DATETIME}'
    P = _P
    g, a, m = f"<{f.graph}>", f"<{activity}>", P["meta"]
    name, sha, n = _nt_string(f.label), f'"{f.sha256}"', f'"{f.triples}"{_INTEGER}'
    text = (
        f"{g} {P['type']} {P['LoadedGraph']} {m} .\n"
        f"{g} {P['fileName']} {name} {m} .\n"
        f"{g} {P['sha256']} {sha} {m} .\n"
        f"{g} {P['tripleCount']} {n} {m} .\n"
        f"{g} {P['modified']} {now} {m} .\n"
        f"{g} {P['wasGeneratedBy']} {a} {m} .\n"
        f"{a} {P['type']} {P['Load']} {m} .\n"
        f"{a} {P['graph']} {g} {m} .\n"
        f"{a} {P['startedAtTime']} {now} {m} .\n"
        f"{a} {P['tripleCount']} {n} {m} .\n"
        f'{a} {P["triplesAdded"]} "{added}"{_INTEGER} {m} .\n'
        f'{a} {P["triplesRemoved"]} "{removed}"{_INTEGER} {m} .\n'
        f"{a} {P['fileName']} {name} {m} .\n"
        f"{a} {P['sha256']} {sha} {m} .\n"
        f"{a} {P['used']} {name} {m} .\n"
    )
    return activity, text


def _nt_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _bump_version_by(n: int) -> str:
    """base._bump_version, by N: a batch of N loads leaves the version where N single loads would.

    Written with an aggregate rather than an OPTIONAL: Virtuoso 7.2 gives no solution for a
    lone OPTIONAL that matches nothing, and would never write the first version (see
    kg.store.remote._virtuoso_bump_version); the aggregate has one solution on every server."""
    return (
        f"DELETE {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?v }} }}\n"
        f"INSERT {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> a <{KG.StoreState}> ; <{KG.storeVersion}> ?next }} }}\n"
        f"WHERE {{ {{ SELECT (MAX(?current) AS ?v) WHERE {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?current }} }} }}"
        f" BIND(COALESCE(?v + {int(n)}, {int(n)}) AS ?next) }}"
    )


def _described(store: Store, values: str) -> list[GraphInfo]:
    """GraphInfo of the graphs in VALUES (IRIs as text), read as Store._described_graphs reads them."""
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
