"""The one small interface every store implements, and what both implementations share.

Writes are single SPARQL 1.1 Update requests: replacing a named graph, recording its
provenance in the metadata graph and bumping the store's version happen in one request, which
both Oxigraph (embedded or `oxigraph serve`) and other SPARQL 1.1 servers apply atomically.
Nothing above this module knows which store runs.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from ..errors import KGError
from ..namespaces import ID, KG

META_GRAPH = URIRef(f"{ID}graph/meta")  # provenance of every load; not a file's graph
STORE_NODE = URIRef(f"{ID}store")  # the store itself, holder of the version number
GRAPH_BASE = f"{ID}graph/"

Triple = tuple  # (subject, predicate, object) of rdflib terms


class StoreError(KGError):
    """A store could not be read or written; the message says why and what to do."""

    status = 503  # over HTTP: the service failed, not the client's request


@dataclass
class QueryResult:
    """What a query returned: rows for SELECT, a boolean for ASK, triples for CONSTRUCT/DESCRIBE."""

    kind: str  # "select", "ask" or "graph"
    variables: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # variable name -> rdflib term (absent if unbound)
    boolean: bool | None = None
    triples: list[Triple] = field(default_factory=list)
    truncated: bool = False  # the row cap was hit: there may be more
    elapsed: float = 0.0  # seconds the store took


@dataclass
class GraphInfo:
    """A named graph of the store and the provenance of the load that wrote it."""

    iri: str
    triples: int
    file: str | None = None
    sha256: str | None = None
    loaded: str | None = None  # ISO time of the last load
    load: str | None = None  # IRI of the last load activity


@dataclass
class LoadRecord:
    """One load or unload, as `kg history` shows it."""

    activity: str
    action: str  # "load" or "unload"
    graph: str
    time: str
    file: str | None
    sha256: str | None
    added: int
    removed: int
    triples: int


@dataclass
class WriteOutcome:
    """What a write changed."""

    graph: str
    added: int
    removed: int
    triples: int
    unchanged: bool = False
    activity: str | None = None


class Store(ABC):
    """Query, replace a graph, drop a graph, list graphs, history, dump, version."""

    #: Human name for messages ("embedded store at var/store", "SPARQL server at …").
    description: str = "store"

    # -- reading ---------------------------------------------------------------------------

    @abstractmethod
    def query(self, sparql: str, bindings: Mapping[str, object] | None = None, *, union: bool = True) -> QueryResult:
        """Run a SPARQL query; BINDINGS (name -> rdflib term) are bound as RDF terms, never spliced.

        With ``union`` the default graph is the union of the named graphs.
        """

    @abstractmethod
    def graph_triples(self, graph: str) -> set[Triple]:
        """Every triple of one named graph."""

    @abstractmethod
    def dump(self, fmt: str, graph: str | None = None) -> bytes:
        """The whole store (or one graph) as TriG, N-Quads, Turtle or JSON-LD."""

    def close(self) -> None:
        """Release the store (a no-op where there is nothing to release)."""

    # -- writing ---------------------------------------------------------------------------

    @abstractmethod
    def _update(self, sparql: str) -> None:
        """Apply one SPARQL Update request atomically."""

    def replace_graph(self, graph: str, triples: Iterable[Triple], *, file: str, sha256: str) -> WriteOutcome:
        """Make GRAPH hold exactly TRIPLES, record the load's provenance and bump the version, atomically."""
        _check_graph_iri(graph)
        new = set(triples)
        old = self.graph_triples(graph)
        info = self.graph_info(graph)
        if info is not None and info.sha256 == sha256 and len(old) == len(new):
            return WriteOutcome(graph, 0, 0, len(new), unchanged=True, activity=info.load)
        added, removed = len(_comparable(new) - _comparable(old)), len(_comparable(old) - _comparable(new))
        activity = _activity_iri()
        now = _now()
        body = [
            _bump_version(),
            f"DROP SILENT GRAPH <{graph}>",
        ]
        if new:
            body.append(f"INSERT DATA {{ GRAPH <{graph}> {{\n{_triples_text(new)}\n}} }}")
        body += [
            _forget_graph_state(graph),
            "INSERT DATA { GRAPH <%s> {\n%s\n} }"
            % (
                META_GRAPH,
                _triples_text(
                    [
                        (URIRef(graph), RDF.type, KG.LoadedGraph),
                        (URIRef(graph), KG.fileName, Literal(file)),
                        (URIRef(graph), KG.sha256, Literal(sha256)),
                        (URIRef(graph), KG.tripleCount, Literal(len(new))),
                        (URIRef(graph), DCTERMS.modified, now),
                        (URIRef(graph), PROV.wasGeneratedBy, URIRef(activity)),
                        *_activity_triples(activity, KG.Load, graph, now, len(new), added, removed, file, sha256),
                    ]
                ),
            ),
        ]
        self._update(" ;\n".join(body))
        return WriteOutcome(graph, added, removed, len(new), activity=activity)

    def drop_graph(self, graph: str) -> WriteOutcome:
        """Remove GRAPH, record the unload and bump the version, atomically."""
        _check_graph_iri(graph)
        old = self.graph_triples(graph)
        if not old and self.graph_info(graph) is None:
            raise StoreError(f"the store has no graph <{graph}>", "`kg graphs` lists the graphs it has")
        activity = _activity_iri()
        now = _now()
        body = [
            _bump_version(),
            f"DROP SILENT GRAPH <{graph}>",
            _forget_graph_state(graph),
            "INSERT DATA { GRAPH <%s> {\n%s\n} }"
            % (META_GRAPH, _triples_text(_activity_triples(activity, KG.Unload, graph, now, 0, 0, len(old), None, None))),
        ]
        self._update(" ;\n".join(body))
        return WriteOutcome(graph, 0, len(old), 0, activity=activity)

    # -- provenance and version -------------------------------------------------------------

    def version(self) -> int:
        """The store's version: every write increases it (0 for a store never written)."""
        result = self.query(
            f"SELECT ?v WHERE {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?v }} }}", union=False
        )
        return int(result.rows[0]["v"]) if result.rows else 0

    def graphs(self) -> list[GraphInfo]:
        """Every named graph with its size and the provenance of its last load."""
        counts = self.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", union=False
        )
        sizes = {str(r["g"]): int(r["n"]) for r in counts.rows if r["g"] != META_GRAPH}
        described = {info.iri: info for info in self._described_graphs()}
        infos = []
        for iri in sorted(set(sizes) | set(described)):
            info = described.get(iri) or GraphInfo(iri, 0)
            info.triples = sizes.get(iri, 0)
            infos.append(info)
        return infos

    def graph_info(self, graph: str) -> GraphInfo | None:
        for info in self._described_graphs(URIRef(graph)):
            return info
        return None

    def _described_graphs(self, only: URIRef | None = None) -> list[GraphInfo]:
        # Our own IRIs are written into the text; only the caller's graph IRI is bound.
        result = self.query(
            f"""
            SELECT ?g ?file ?sha ?n ?time ?load WHERE {{ GRAPH <{META_GRAPH}> {{
              ?g a <{KG.LoadedGraph}> ; <{KG.fileName}> ?file ; <{KG.sha256}> ?sha ;
                 <{KG.tripleCount}> ?n ; <{DCTERMS.modified}> ?time ; <{PROV.wasGeneratedBy}> ?load .
            }} }}""",
            {"g": only} if only is not None else None,
            union=False,
        )
        return [
            GraphInfo(str(r["g"]), int(r["n"]), str(r["file"]), str(r["sha"]), str(r["time"]), str(r["load"]))
            for r in result.rows
        ]

    def history(self, graph: str | None = None) -> list[LoadRecord]:
        """Every load and unload (of one graph, or all), oldest first."""
        result = self.query(
            f"""
            SELECT ?activity ?g ?time ?added ?removed ?n ?file ?sha ?unload WHERE {{ GRAPH <{META_GRAPH}> {{
              ?activity <{KG.graph}> ?g ; <{PROV.startedAtTime}> ?time ; <{KG.triplesAdded}> ?added ;
                        <{KG.triplesRemoved}> ?removed ; <{KG.tripleCount}> ?n .
              OPTIONAL {{ ?activity <{KG.fileName}> ?file ; <{KG.sha256}> ?sha }}
              BIND(EXISTS {{ ?activity a <{KG.Unload}> }} AS ?unload)
            }} }} ORDER BY ?time ?activity""",
            {"g": URIRef(graph)} if graph is not None else None,
            union=False,
        )
        return [
            LoadRecord(
                activity=str(r["activity"]),
                action="unload" if r["unload"].toPython() else "load",
                graph=str(r["g"]),
                time=str(r["time"]),
                file=str(r["file"]) if r.get("file") is not None else None,
                sha256=str(r["sha"]) if r.get("sha") is not None else None,
                added=int(r["added"]),
                removed=int(r["removed"]),
                triples=int(r["n"]),
            )
            for r in result.rows
        ]


# -- helpers shared by both stores ----------------------------------------------------------


def _check_graph_iri(graph: str) -> None:
    """Graph IRIs are written into update text: refuse any that could close its < >."""
    from ..sparql import is_safe_iri

    if not is_safe_iri(graph):
        raise StoreError(f"{graph!r} is not a valid graph IRI", "graph IRIs hold no spaces, quotes, <, >, {, } or |")


def _now() -> Literal:
    return Literal(datetime.now(timezone.utc).isoformat(timespec="microseconds"), datatype=XSD.dateTime)


def _activity_iri() -> str:
    return f"{ID}load/{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"


def _activity_triples(activity, cls, graph, time, count, added, removed, file, sha256) -> list[Triple]:
    node = URIRef(activity)
    triples = [
        (node, RDF.type, cls),
        (node, KG.graph, URIRef(graph)),
        (node, PROV.startedAtTime, time),
        (node, KG.tripleCount, Literal(count)),
        (node, KG.triplesAdded, Literal(added)),
        (node, KG.triplesRemoved, Literal(removed)),
    ]
    if file is not None:
        triples += [(node, KG.fileName, Literal(file)), (node, KG.sha256, Literal(sha256))]
        triples.append((node, PROV.used, Literal(file)))
    return triples


def _bump_version() -> str:
    return (
        f"DELETE {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?v }} }}\n"
        f"INSERT {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> a <{KG.StoreState}> ; <{KG.storeVersion}> ?next }} }}\n"
        f"WHERE {{ OPTIONAL {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?v }} }}"
        f" BIND(COALESCE(?v + 1, 1) AS ?next) }}"
    )


def _forget_graph_state(graph: str) -> str:
    """Remove the current-state description of GRAPH (its load history stays)."""
    return (
        f"DELETE {{ GRAPH <{META_GRAPH}> {{ <{graph}> ?p ?o }} }}\n"
        f"WHERE {{ GRAPH <{META_GRAPH}> {{ <{graph}> ?p ?o }} }}"
    )


def _triples_text(triples: Iterable[Triple]) -> str:
    """Triples as SPARQL INSERT DATA text, each term written by rdflib's escaping (never raw input)."""
    return "\n".join(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)


def _comparable(triples: set[Triple]) -> set[Triple]:
    """Blank nodes differ on every load; compare them as one placeholder so diffs stay meaningful."""
    if not any(isinstance(t, BNode) for triple in triples for t in triple):
        return triples
    blank = BNode("_")
    return {tuple(blank if isinstance(t, BNode) else t for t in triple) for triple in triples}
