"""Dataset statistics — graphs and their sizes, totals, instances per class — once per store version.

The VoID description (/.well-known/void) and the SPARQL service description (GET /sparql) list
every named graph with its size. Counting them is a scan of every quad of the store (21 s at
100k updates, 3.4M quads), but every graph that `kg load`, the bulk loader or the editor wrote
already records its triple count in the meta graph (``kg:tripleCount``, see kg.store.base), so
the sizes are read from there. The meta graph itself is counted. A store where no load
recorded anything (built by other tools, e.g. `oxigraph load`) is counted graph by graph, which
is slow at scale; graphs written by other tools into a store that `kg load` also wrote are not
listed.

Results are kept per runner until the store's version (``QueryRunner.version_key()``) changes.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from . import named_queries
from .runner import QueryRunner
from .store.base import META_GRAPH


@dataclass
class Statistics:
    """What the dataset holds, for one store version."""

    graphs: list[tuple[str, int]] = field(default_factory=list)  # (graph IRI, triples), by IRI
    triples: int = 0  # quads in all named graphs (the meta graph included)
    classes: list[tuple[str, int]] = field(default_factory=list)  # (class IRI, instances) of the ontology's classes


_lock = threading.Lock()
_computing = threading.Lock()
_kept: weakref.WeakKeyDictionary[QueryRunner, tuple[tuple, Statistics]] = weakref.WeakKeyDictionary()


def statistics(runner: QueryRunner) -> Statistics:
    """The statistics of the runner's store, computed on the first call after each write."""
    version = runner.version_key()
    with _lock:
        kept = _kept.get(runner)
    if kept is not None and kept[0] == version:
        return kept[1]
    with _computing:  # one computation at a time: a second caller (the warm-up) waits and reuses it
        with _lock:
            kept = _kept.get(runner)
        if kept is not None and kept[0] == version:
            return kept[1]
        graphs = graph_sizes(runner)
        classes = [(str(r["class"]), int(r["n"])) for r in _rows(runner, "void-classes")]
        stats = Statistics(graphs=graphs, triples=sum(n for _, n in graphs), classes=classes)
        with _lock:
            _kept[runner] = (version, stats)
        return stats


def graph_sizes(runner: QueryRunner) -> list[tuple[str, int]]:
    """Every named graph of the store with its number of triples, sorted by IRI.

    Read in one pass on a handle of the store's own rather than through the runner: at 100k
    updates the list has 100,000 rows, ten times the row cap, and Oxigraph spends about 7 s
    turning that many IRIs into text, so pages of the cap (each sorted, to page reliably) took
    over a minute. The query is ours and its cost grows only with the number of graphs."""
    rows = _unlimited(runner, named_queries.load("void-graph-records").sparql)
    sizes = {str(r["g"]): int(r["n"]) for r in rows}
    if not sizes:  # no load recorded anything: a store built by other tools, so count (slow)
        rows = _unlimited(runner, named_queries.load("graph-sizes").sparql)
        return sorted((str(r["g"]), int(r["n"])) for r in rows if int(r["n"]))
    query = named_queries.load("void-graph-count")  # the meta graph itself records no size
    for r in runner.run(query.sparql, {"g": META_GRAPH}, cached=True).rows:
        sizes[str(r["g"])] = int(r["n"])
    return sorted((g, n) for g, n in sizes.items() if n)  # empty graphs are not listed, as before


def _unlimited(runner: QueryRunner, text: str) -> list[dict]:
    """Every row of TEXT, without the runner's row cap, on a read-only handle (or the remote store)."""
    if runner.store is not None:
        return runner.store.query(text).rows
    from .store import EmbeddedStore

    store = EmbeddedStore(runner.store_path, read_only=True)
    try:
        return store.query(text).rows
    finally:
        store.close()


def _rows(runner: QueryRunner, name: str) -> list[dict]:
    return runner.run(named_queries.load(name).sparql, cached=True).rows


__all__ = ["META_GRAPH", "Statistics", "graph_sizes", "statistics"]
