"""Loading Turtle files into a store: parse, validate, then replace each file's named graph.

A batch is all-or-nothing by default: every file is validated before any is written, and one
failure means none is loaded. Each file's graph is replaced in its own atomic write, together
with the provenance of the load, so a crash leaves every graph wholly old or wholly new.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from rdflib.namespace import OWL, RDF, SKOS

from .errors import KGError
from .namespaces import ID, KG
from .store.base import GRAPH_BASE, Store, WriteOutcome
from .validate import FileReport, Validator, declared_updates, format_human, turtle_files


class LoadRefused(KGError):
    """Files failed validation, so nothing was loaded; ``reports`` says what to mend."""

    def __init__(self, reports: list[FileReport], message: str, hint: str | None = None):
        super().__init__(message, hint)
        self.reports = reports


@dataclass
class FileLoad:
    """One file of a load: its validation report and, if written, what the write changed."""

    file: str
    graph: str | None
    report: FileReport
    outcome: WriteOutcome | None = None

    def summary(self) -> str:
        if self.outcome is None:
            return f"{self.file}: not loaded ({len(self.report.problems)} problem(s))"
        o = self.outcome
        if o.unchanged:
            return f"{self.file}: unchanged ({o.triples} triples in <{o.graph}>)"
        return f"{self.file}: +{o.added} -{o.removed} ({o.triples} triples in <{o.graph}>)"


@dataclass
class LoadSummary:
    loads: list[FileLoad] = field(default_factory=list)

    @property
    def loaded(self) -> list[FileLoad]:
        return [f for f in self.loads if f.outcome is not None and not f.outcome.unchanged]

    @property
    def failed(self) -> list[FileLoad]:
        return [f for f in self.loads if not f.report.conforms]

    def totals(self) -> str:
        unchanged = sum(1 for f in self.loads if f.outcome is not None and f.outcome.unchanged)
        added = sum(f.outcome.added for f in self.loaded)
        removed = sum(f.outcome.removed for f in self.loaded)
        text = f"{len(self.loaded)} loaded (+{added} -{removed} triples), {unchanged} unchanged"
        return text + (f", {len(self.failed)} refused" if self.failed else "")


_REFERENCE_CLASSES = {KG.Country, KG.Region, KG.Organisation, KG.Authority}


def graph_iri_for(path: Path, updates: Iterable[str], graph=None) -> str:
    """The named graph a file goes into: derived from its update's IRI; for other files,
    …/graph/ontology/NAME or …/graph/reference/NAME by what the file declares (GRAPH, when
    given), else …/graph/FOLDER/NAME. A file keeps its graph wherever it is loaded from
    (the editor's uploads sit in a temporary folder)."""
    updates = sorted(updates)
    if updates:
        return GRAPH_BASE + updates[0][len(str(ID)) :]  # id/update/X -> id/graph/update/X
    if graph is not None:
        types = set(graph.objects(None, RDF.type))
        if OWL.Ontology in types or SKOS.ConceptScheme in types:
            return f"{GRAPH_BASE}ontology/{path.stem}"
        if types & _REFERENCE_CLASSES:
            return f"{GRAPH_BASE}reference/{path.stem}"
    return f"{GRAPH_BASE}{path.resolve().parent.name}/{path.stem}"


def file_label(path: Path) -> str:
    """The file name recorded in provenance: relative to the working folder where possible."""
    try:
        return os.path.relpath(path.resolve(), Path.cwd())
    except ValueError:  # another drive (Windows)
        return str(path)


def store_updates(store: Store, among: Iterable[str] | None = None) -> set[str]:
    """IRIs of the updates the store already holds (cross-references may point at them).

    With AMONG, only which of those IRIs are updates: the cost then follows the batch being
    loaded, not the size of the store."""
    if among is None:
        result = store.query(f"SELECT DISTINCT ?u WHERE {{ ?u a <{KG.Update}> }}")
        return {str(row["u"]) for row in result.rows}
    from .store.embedded import EmbeddedStore

    iris = sorted(set(among))
    found: set[str] = set()
    if isinstance(store, EmbeddedStore):  # direct index lookups, no query to parse
        ox = store.oxigraph
        rdf_type, update = pyoxigraph.NamedNode(str(RDF.type)), pyoxigraph.NamedNode(str(KG.Update))
        for iri in iris:
            if next(iter(ox.quads_for_pattern(pyoxigraph.NamedNode(iri), rdf_type, update, None)), None):
                found.add(iri)
        return found
    for start in range(0, len(iris), 500):
        values = " ".join(f"<{iri}>" for iri in iris[start : start + 500])
        result = store.query(f"SELECT DISTINCT ?u WHERE {{ VALUES ?u {{ {values} }} ?u a <{KG.Update}> }}")
        found.update(str(row["u"]) for row in result.rows)
    return found


def mentioned_iris(files: Iterable[Path]) -> set[str]:
    """Every IRI the given Turtle files mention (files that do not parse are skipped)."""
    found: set[str] = set()
    for path in files:
        try:
            for triple in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE):
                found.update(t.value for t in (triple.subject, triple.object) if isinstance(t, pyoxigraph.NamedNode))
        except (OSError, SyntaxError, ValueError):
            continue
    return found


class Loader:
    """Validates and loads files into one store."""

    def __init__(self, store: Store, validator: Validator | None = None):
        self.store = store
        self.validator = validator or Validator()

    def check(self, paths: Iterable[str | Path]) -> LoadSummary:
        """Validate every file and assign its graph, writing nothing."""
        files = turtle_files(paths)
        if not files:
            raise KGError("no Turtle files to load", "name .ttl files or folders that hold them")
        # Only updates a file or the context mention can change a check (see Validator._shacl),
        # so the store is asked about those alone: a load costs the same in a big store.
        v = self.validator
        among = (mentioned_iris(files) | v._context_iris) - v.known_updates
        v.known_updates |= store_updates(self.store, among) | declared_updates(files)
        summary = LoadSummary()
        owners: dict[str, str] = {}
        for path in files:
            report = self.validator.validate_file(path)
            graph = None
            if report.graph is not None:
                graph = graph_iri_for(path, map(str, report.graph.subjects(RDF.type, KG.Update)), report.graph)
                if graph in owners:
                    report.problems.append(_duplicate_problem(path, graph, owners[graph]))
                owners.setdefault(graph, str(path))
            summary.loads.append(FileLoad(str(path), graph, report))
        return summary

    def load(
        self,
        paths: Iterable[str | Path],
        *,
        keep_going: bool = False,
        progress: Callable[[FileLoad], None] | None = None,
        labels: dict[str, str] | None = None,
    ) -> LoadSummary:
        """Validate every file, then (if all conform, or with KEEP_GOING the valid ones) load them.

        LABELS maps a file path to the name recorded in provenance (the editor's uploads)."""
        summary = self.check(paths)
        if summary.failed and not keep_going:
            raise LoadRefused(
                [f.report for f in summary.loads],
                format_human([f.report for f in summary.loads]).rsplit("\n", 1)[0]
                + f"\nnothing was loaded: {len(summary.failed)} of {len(summary.loads)} file(s) failed validation",
                "mend them and load again, or pass --keep-going to load the files that conform",
            )
        for item in summary.loads:
            if item.report.conforms:
                label = (labels or {}).get(item.file)
                item.outcome = self.load_report(Path(item.file), item.report, item.graph, label)
            if progress is not None:
                progress(item)
        return summary

    def preview(self, paths: Iterable[str | Path]) -> tuple[LoadSummary, dict[str, "GraphDiff"]]:
        """What loading PATHS would change, graph by graph, without writing anything."""
        summary = self.check(paths)
        diffs = {}
        for item in summary.loads:
            if item.report.conforms:
                new = set(item.report.graph)
                old = self.store.graph_triples(item.graph)
                diffs[item.file] = GraphDiff(item.graph, added=new - old, removed=old - new, existed=bool(old))
        return summary, diffs

    def load_report(self, path: Path, report: FileReport, graph: str, label: str | None = None) -> WriteOutcome:
        """Write one validated file into its graph (atomic), with provenance."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return self.store.replace_graph(graph, set(report.graph), file=label or file_label(path), sha256=digest)


@dataclass
class GraphDiff:
    """The triples a load would add to and remove from one graph."""

    graph: str
    added: set
    removed: set
    existed: bool


def build_if_empty(store: Store, sources: Iterable[str | Path], validator: Validator | None = None) -> LoadSummary | None:
    """Load SOURCES (the ontology and data folders) into a store that holds no graph yet."""
    if store.graphs():
        return None
    from .bulk import BulkLoader  # it builds on this module

    return BulkLoader(store, validator).load(sources)


def resolve_graph(store: Store, name: str) -> str:
    """A graph IRI from what a user types: a graph IRI, an update (IRI, update:slug or slug), or a file."""
    candidates = []
    if name.startswith(GRAPH_BASE):
        candidates.append(name)
    slug = name
    for prefix in (f"{ID}update/", "update:"):
        if slug.startswith(prefix):
            slug = slug[len(prefix) :]
    candidates.append(f"{GRAPH_BASE}update/{slug}")
    path = Path(name)
    if path.suffix == ".ttl":
        candidates.append(f"{GRAPH_BASE}update/{path.stem}")
        candidates.append(f"{GRAPH_BASE}{path.resolve().parent.name}/{path.stem}")
    known = {g.iri: g for g in store.graphs()}
    for candidate in candidates:
        if candidate in known:
            return candidate
    by_file = [g.iri for g in known.values() if g.file and Path(g.file).resolve() == path.resolve()]
    if by_file:
        return by_file[0]
    raise KGError(f"the store has no graph for {name!r}", "`kg graphs` lists the graphs and their files")


def _duplicate_problem(path: Path, graph: str, other: str):
    from .validate import Problem

    return Problem(
        str(path), None,
        f"this file and {other} both describe <{graph}>: keep one update per file",
        kind="file",
    )


