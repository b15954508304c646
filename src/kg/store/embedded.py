"""The default store: pyoxigraph's on-disk store (RocksDB, transactional) in this process."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import pyoxigraph
from rdflib import BNode, Literal, URIRef
from rdflib import Dataset

from ..query_worker import MARKER
from ..sparql import bind
from .base import QueryResult, Store, StoreError, Triple

_FORMATS = {
    "trig": pyoxigraph.RdfFormat.TRIG,
    "nquads": pyoxigraph.RdfFormat.N_QUADS,
    "turtle": pyoxigraph.RdfFormat.TURTLE,
    "ntriples": pyoxigraph.RdfFormat.N_TRIPLES,
}


class EmbeddedStore(Store):
    """An Oxigraph store in a folder; one process may write it at a time."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self.description = f"embedded store at {self.path}" if self.path else "in-memory store"
        try:
            if self.path is None:
                self._store = pyoxigraph.Store()
            elif read_only:
                self._store = pyoxigraph.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = pyoxigraph.Store(str(self.path))
        except OSError as error:
            raise StoreError(
                f"cannot open the {self.description}: {error}",
                "check that the folder is writable and that no other process (a running `kg serve`) "
                "has it open for writing; set KG_STORE or --store to use another folder",
            ) from error

    @property
    def oxigraph(self) -> pyoxigraph.Store:
        """The underlying pyoxigraph store (for the query runner and benchmarks)."""
        return self._store

    def query(self, sparql: str, bindings: Mapping[str, object] | None = None, *, union: bool = True) -> QueryResult:
        try:
            results = self._store.query(bind(sparql, bindings), use_default_graph_as_union=union)
        except SyntaxError as error:
            raise StoreError(f"the query does not parse: {error}", "check the SPARQL syntax") from error
        except OSError as error:
            raise StoreError(f"the {self.description} could not be read: {error}") from error
        return to_query_result(results)

    def graph_triples(self, graph: str) -> set[Triple]:
        node = pyoxigraph.NamedNode(graph)
        return {
            (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object))
            for q in self._store.quads_for_pattern(None, None, None, node)
        }

    def dump(self, fmt: str, graph: str | None = None) -> bytes:
        if fmt == "jsonld":
            dataset = Dataset()
            dataset.parse(data=self.dump("nquads", graph), format="nquads")
            return dataset.serialize(format="json-ld").encode("utf-8")
        if fmt not in _FORMATS:
            raise StoreError(f"unknown export format {fmt!r}", f"use one of {', '.join([*_FORMATS, 'jsonld'])}")
        target = _FORMATS[fmt]
        if graph is not None:
            return self._store.dump(format=target, from_graph=pyoxigraph.NamedNode(graph))
        if fmt in ("turtle", "ntriples"):  # no graphs in these formats: the union of all
            return pyoxigraph.serialize(
                (pyoxigraph.Triple(q.subject, q.predicate, q.object) for q in self._store), format=target
            )
        return self._store.dump(format=target)

    def _update(self, sparql: str) -> None:
        try:
            self._store.update(sparql)
            if self.path is not None:
                self._store.flush()
                self._touch_marker()
        except OSError as error:
            raise StoreError(
                f"the {self.description} could not be written: {error}",
                "check free disk space and the folder's permissions; nothing was changed",
            ) from error

    def _touch_marker(self) -> None:
        """Tell read-only handles in other processes (the query workers) to reopen."""
        marker = self.path / MARKER
        scratch = marker.with_name(MARKER + ".tmp")
        scratch.write_text(str(time.time_ns()))
        os.replace(scratch, marker)  # a new inode every time: a cheap, certain change to detect

    def optimize(self) -> None:
        """Compact the store after a bulk load (queries get faster)."""
        self._store.optimize()

    def close(self) -> None:
        """Flush and release the store (the RocksDB lock goes with it); closing twice is harmless."""
        store = self.__dict__.pop("_store", None)
        if store is not None and self.path is not None and not self.read_only:
            store.flush()


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term):
    """A pyoxigraph term as the rdflib term the rest of the code uses."""
    if isinstance(term, pyoxigraph.NamedNode):
        return URIRef(term.value)
    if isinstance(term, pyoxigraph.BlankNode):
        return BNode(term.value)
    if isinstance(term, pyoxigraph.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # rdflib writes plain strings without a datatype
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    if isinstance(term, pyoxigraph.DefaultGraph):
        return None
    raise StoreError(f"unsupported term {term!r}")


def to_query_result(results) -> QueryResult:
    if isinstance(results, pyoxigraph.QueryBoolean):
        return QueryResult("ask", boolean=bool(results))
    if isinstance(results, pyoxigraph.QuerySolutions):
        names = [v.value for v in results.variables]
        rows = []
        for solution in results:
            row = {}
            for name in names:
                value = solution[name]
                if value is not None:
                    row[name] = to_rdflib(value)
            rows.append(row)
        return QueryResult("select", variables=names, rows=rows)
    triples = [(to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)) for t in results]
    return QueryResult("graph", triples=triples)
