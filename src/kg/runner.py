"""The one query runner behind the SPARQL endpoint and every page.

It refuses what a public, read-only service must not do — updates, SERVICE, and FROM /
FROM NAMED (or default-graph-uri / named-graph-uri) naming anything but the store's own graphs,
so no query makes the server fetch a URL — binds parameters as RDF terms, caps the rows, and
enforces a wall-clock limit. Oxigraph has no timeout of its own, so on the embedded store each
query runs in a worker process (kg.query_worker) that is killed and replaced when it overruns;
the other workers keep answering meanwhile. On a remote store the HTTP request times out.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Literal, URIRef

from .errors import KGError
from .query_worker import marker_state
from .sparql import MAX_NESTING, QueryTextError, bind, bind_rows, query_shape, term_to_sparql, unescape_codepoints
from .store.base import META_GRAPH, QueryResult, Store, StoreError
from .store.remote import RemoteStore

_SOURCE_ROOT = str(Path(__file__).resolve().parents[1])  # so workers import this same kg package
CACHE_SIZE = 2048  # page-query results kept per process (they are small)
BODY_FORMATS = ("json", "xml", "csv", "tsv")  # SPARQL results formats the worker writes itself
PIPE_BYTES = 1 << 20  # capacity asked for the pipe that carries answers from a worker
_UPDATE_FORMS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}


class QueryRefused(KGError):
    """The query is not allowed or not valid here (HTTP 400)."""

    status = 400


class QueryTimeout(KGError):
    """The query ran past the time limit and was stopped (HTTP 503)."""

    status = 503


class RunnerBusy(KGError):
    """Every worker is busy (HTTP 503); try again shortly."""

    status = 503


@dataclass
class ResultBody:
    """A SELECT or ASK answer already written as a SPARQL results document (for /sparql).

    Large answers are much cheaper this way than as rdflib terms: the worker writes the body with
    pyoxigraph's serializer and only bytes cross the pipe."""

    kind: str  # "select" or "ask"
    fmt: str  # one of BODY_FORMATS
    body: bytes
    truncated: bool = False  # the row cap was hit: there may be more
    elapsed: float = 0.0


@dataclass
class Limits:
    timeout: float = 10.0  # seconds of wall-clock time per query
    max_rows: int = 10_000  # rows (or triples) returned at most
    workers: int = 2  # query worker processes for the embedded store
    recycle_after: float = 0.2  # a worker that ran a query this long (seconds) is replaced; 0: never


class _Worker:
    """One worker process (python -m kg.query_worker) and the two pipes to it.

    A plain subprocess rather than multiprocessing: it never re-imports the parent's
    __main__ (a WSGI server, a test runner), and it can be killed without side effects.
    """

    def __init__(self, store_path: str):
        self.worn = False  # ran a long query: to be swapped for a fresh worker (WorkerPool)
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        _widen(from_child_write)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kg.query_worker", store_path, str(to_child_read), str(from_child_write)],
            pass_fds=(to_child_read, from_child_write),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_SOURCE_ROOT, os.environ.get("PYTHONPATH")]))},
        )
        os.close(to_child_read)
        os.close(from_child_write)
        self.requests = Connection(to_child_write, readable=False)
        self.replies = Connection(from_child_read, writable=False)

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.requests.send(None)
            except OSError:
                kill = True
        if kill:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.requests.close()
        self.replies.close()


def _widen(fd: int) -> None:
    """Let the pipe hold up to 1 MiB (Linux; the default is 64 KiB), so that a large answer
    crosses in a few writes instead of one hand-over between the processes per 64 KiB; the
    system's pipe-max-size may allow less, and then the default stays."""
    import fcntl

    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass


class WorkerPool:
    """Worker processes over one embedded store folder, replaced when killed or worn.

    A worker that has run a long query is *worn*: its memory allocator keeps the long query's
    heap, and every later query in that process runs 10-25 % slower (measured at 100k updates,
    bench/RESULTS.md). Oxigraph's own server does not show this: it answers each request on a
    fresh thread. Here a fresh worker costs about 50 ms and 60 ms of CPU to start, so a worn one
    is swapped for a spare that was started and warmed in the background; no request waits for
    a start, and the worn process exits once idle.
    """

    def __init__(self, store_path: str | Path, size: int, recycle_after: float = 0.0):
        self.store_path = str(store_path)
        self.size = size
        self.recycle_after = recycle_after
        # Last in, first out: a lone client's queries keep going to the same worker, whose store
        # handle has the blocks they read in its cache, instead of alternating between workers.
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._started = False
        self._spare: _Worker | None = None  # started and warmed, waiting to replace a worn worker
        self._preparing: threading.Thread | None = None
        self._closed = False

    def _ensure_started(self) -> None:
        with self._lock:
            if not self._started:
                for _ in range(self.size):
                    self._idle.put(_Worker(self.store_path))
                self._started = True

    def run(self, request: dict, timeout: float) -> tuple[str, object]:
        self._ensure_started()
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise RunnerBusy(
                "every query worker is busy", "try again in a few seconds; long queries are stopped at the time limit"
            ) from None
        worker = self._fresh(worker)
        started = time.monotonic()
        try:
            worker.requests.send(request)
            if not worker.replies.poll(timeout):
                worker.stop(kill=True)
                worker = _Worker(self.store_path)
                raise QueryTimeout(
                    f"the query was stopped after {timeout:g} s, the time limit",
                    "narrow it (a LIMIT, more specific patterns) or use the dumps for bulk work",
                )
            reply = worker.replies.recv()
            if self.recycle_after and time.monotonic() - started >= self.recycle_after:
                worker.worn = True
                worker = self._fresh(worker)
            return reply
        except (EOFError, BrokenPipeError, ConnectionResetError):
            worker.stop(kill=True)
            worker = _Worker(self.store_path)
            raise StoreError("the query worker stopped unexpectedly", "try again; it has been replaced") from None
        finally:
            self._idle.put(worker)

    def _fresh(self, worker: _Worker) -> _Worker:
        """WORKER, or the warmed spare in its place if WORKER is worn (and a new spare on its way)."""
        if not worker.worn:
            return worker
        with self._lock:
            spare, self._spare = self._spare, None
            if spare is not None:
                threading.Thread(target=worker.stop, name="kg-worker-retire", daemon=True).start()
            if self._preparing is None and not self._closed:
                self._preparing = threading.Thread(target=self._prepare_spare, name="kg-worker-spare", daemon=True)
                self._preparing.start()
        return spare if spare is not None else worker

    def _prepare_spare(self) -> None:
        spare = None
        try:
            spare = _Worker(self.store_path)
            # The first query opens the store: done here, off every request's path.
            spare.requests.send({"query": "ASK {}", "default_graphs": [], "named_graphs": [], "max_rows": 1})
            ready = spare.replies.poll(30) and spare.replies.recv()[0] == "ok"
        except (EOFError, OSError):  # no spare this time (a worker that cannot start): the worn one serves on
            ready = False
        with self._lock:
            self._preparing = None
            if ready and not self._closed and self._spare is None:
                self._spare, spare = spare, None
        if spare is not None:
            spare.stop(kill=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            preparing, spare, self._spare = self._preparing, self._spare, None
        if preparing is not None:
            preparing.join(timeout=35)
        if spare is not None:
            spare.stop()
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return


class QueryRunner:
    """Checks, binds and runs queries with limits, on a worker pool or a remote store."""

    def __init__(self, store: Store | None, limits: Limits, *, store_path: str | Path | None = None):
        if store is None and store_path is None:
            raise ValueError("a runner needs a remote store or an embedded store's folder")
        self.store = store
        self.store_path = Path(store_path) if store_path is not None else None
        self.limits = limits
        self.pool = WorkerPool(store_path, limits.workers, limits.recycle_after) if store is None else None
        self._graphs: tuple[tuple, dict[str, bool]] | None = None  # (version, graph IRI -> held)
        self._cache: OrderedDict[tuple, QueryResult] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}  # cache keys being computed now

    # -- what the store holds ----------------------------------------------------------------

    def version_key(self) -> tuple:
        """Changes whenever the store is written (cache key for pages)."""
        if self.store_path is not None:
            return marker_state(str(self.store_path))
        return (self.store.version(),)

    def unknown_graphs(self, iris: set[str]) -> list[str]:
        """Which of IRIS are not named graphs of the store.

        The store is asked about those IRIs alone: it may hold more graphs (one per update) than
        the row cap lets a listing return. Answers are kept until the store changes."""
        key = self.version_key()
        if self._graphs is None or self._graphs[0] != key or len(self._graphs[1]) > 10_000:
            self._graphs = (key, {})  # bounded: the IRIs asked about come from the public
        known = self._graphs[1]
        ask = sorted(iri for iri in iris if iri not in known)
        step = max(1, min(200, self.limits.max_rows))  # every graph of a chunk fits in one answer
        for start in range(0, len(ask), step):
            chunk = ask[start : start + step]
            found: set[str] = set()
            terms = []
            for iri in chunk:
                try:
                    term_to_sparql(URIRef(iri))
                except QueryTextError:  # not an IRI the engine could hold: not a graph of the store
                    known[iri] = False
                    continue
                terms.append([URIRef(iri)])
            if terms:
                text = bind_rows("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }", ["g"], terms)
                found = {str(r["g"]) for r in self._execute(text, None, None, checked=True).rows}
            for iri in chunk:
                known.setdefault(iri, iri in found)
        return sorted(iri for iri in iris if not known[iri])

    # -- running -----------------------------------------------------------------------------

    def check(self, query: str, default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = ()) -> str:
        """Refuse what the public service must not run; return the query form (SELECT, ASK…).

        QUERY must already have its codepoint escapes processed (unescape_codepoints), as the
        engine will run it: run() does that first."""
        shape = query_shape(query)
        if shape.nesting > MAX_NESTING:
            raise QueryRefused(
                f"the query nests groups or parentheses more than {MAX_NESTING} levels deep",
                "flatten it: the engine's parser cannot take such depth",
            )
        form = shape.form
        if form in _UPDATE_FORMS:
            raise QueryRefused(
                "this endpoint is read-only: SPARQL Update is not accepted",
                "changes go through `kg load` or the editor area",
            )
        if not form:
            raise QueryRefused("this is not a SPARQL query", "start with SELECT, ASK, CONSTRUCT or DESCRIBE")
        if shape.service:
            raise QueryRefused(
                "SERVICE is not allowed: this endpoint does not fetch data from other servers",
                "query the other endpoint directly, or download its data and load it",
            )
        wanted = set(shape.graphs) | set(default_graphs) | set(named_graphs)
        if wanted:
            unknown = self.unknown_graphs(wanted)
            if unknown:
                raise QueryRefused(
                    f"FROM, FROM NAMED and graph parameters may only name graphs of this store; not {', '.join(unknown)}",
                    "the service description at /sparql lists the graphs",
                )
        return form

    def run(
        self,
        query: str,
        bindings: Mapping[str, object] | None = None,
        *,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        cached: bool = False,
        serialize: str | None = None,
    ) -> QueryResult | ResultBody:
        """Check QUERY, bind BINDINGS as terms, and run it within the time limit and row cap.

        With CACHED (page queries), the result is reused until the store's version changes.
        With SERIALIZE (one of BODY_FORMATS; the endpoint), a SELECT or ASK answer comes back as
        a ResultBody written in that format; CONSTRUCT and DESCRIBE still as a QueryResult.
        """
        if serialize is not None and (serialize not in BODY_FORMATS or cached):
            raise ValueError(f"serialize must be one of {BODY_FORMATS}, and not with cached")
        if not cached:
            return self._checked_run(query, bindings, default_graphs, named_graphs, serialize)
        # The cache is looked up before anything else: a key holds the text exactly as given, the
        # bindings and graph parameters, the store's version and the row cap, and only an answer that passed
        # every check below (for that same store version, whose graphs FROM may name) is ever
        # stored. So a hit is an answer the checks already allowed, and the tokenizing, checking
        # and binding (a few ms per page query) are skipped.
        key = _cache_key((self.version_key(), self.limits.max_rows), query, bindings, default_graphs, named_graphs)
        if key is None:
            return self._checked_run(query, bindings, default_graphs, named_graphs, None)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            computing = self._computing.setdefault(key, threading.Lock())
        # One caller per key runs the query; concurrent callers wait for its answer instead of
        # running the same query beside it. Without this, a slow page queried by many visitors
        # at once ran once per visitor, every copy hit the time limit under the load it made
        # itself, and the answer was never cached (bench/load_test.py, 10k updates, 20 users).
        got = computing.acquire(timeout=self.limits.timeout)
        try:
            with self._cache_lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
            result = self._checked_run(query, bindings, default_graphs, named_graphs, None)
            with self._cache_lock:
                self._cache[key] = result
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            return result
        finally:
            if got:
                computing.release()
            with self._cache_lock:
                if self._computing.get(key) is computing and not computing.locked():
                    del self._computing[key]

    def _checked_run(self, query, bindings, default_graphs, named_graphs, serialize):
        query = unescape_codepoints(query)
        self.check(query, default_graphs, named_graphs)
        text = bind(query, bindings) if bindings else query
        return self._execute(text, default_graphs, named_graphs, serialize=serialize)

    def _execute(self, text, default_graphs, named_graphs, checked: bool = False, serialize: str | None = None):
        if self.pool is None:
            result = self._run_remote(text, default_graphs or (), named_graphs or ())
            if serialize and result.kind != "graph":
                return _body_from_result(result, serialize)
            return result
        started = time.monotonic()
        status, payload = self.pool.run(
            {
                "query": text,
                "default_graphs": list(default_graphs or ()),
                "named_graphs": list(named_graphs or ()),
                "max_rows": self.limits.max_rows,
                "serialize": serialize,
            },
            self.limits.timeout,
        )
        if status == "syntax":
            raise QueryRefused(f"the query does not parse: {payload}", "check the SPARQL syntax at the position given")
        if status == "store":
            raise StoreError(
                f"the store at {self.store_path} cannot be read: {payload}",
                "build it first (`kg load ontology/ data/` or start `kg serve`)",
            )
        if status != "ok":
            raise QueryRefused(f"the query failed: {payload}")
        if "body" in payload:
            result = ResultBody(payload["kind"], serialize, payload["body"], payload["truncated"])
        else:
            result = _from_payload(payload)
        result.elapsed = time.monotonic() - started
        return result

    def _run_remote(self, text, default_graphs, named_graphs) -> QueryResult:
        if default_graphs or named_graphs:
            text = _with_dataset(text, default_graphs, named_graphs)
        store = self.store
        if isinstance(store, RemoteStore) and store.timeout != self.limits.timeout:
            store.timeout = self.limits.timeout
        started = time.monotonic()
        try:
            result = store.query(text)
        except StoreError as error:
            if "timed out" in error.message:
                raise QueryTimeout(f"the query was stopped after {self.limits.timeout:g} s, the time limit") from error
            raise
        cap = self.limits.max_rows
        if len(result.rows) > cap:
            result.rows, result.truncated = result.rows[:cap], True
        if len(result.triples) > cap:
            result.triples, result.truncated = result.triples[:cap], True
        result.elapsed = time.monotonic() - started
        return result

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _with_dataset(text: str, default_graphs, named_graphs) -> str:
    """Protocol dataset parameters as FROM / FROM NAMED clauses, placed before WHERE."""
    from .sparql import where_keyword_start

    clauses = "".join(f"FROM <{g}>\n" for g in default_graphs) + "".join(f"FROM NAMED <{g}>\n" for g in named_graphs)
    at = where_keyword_start(text)
    return text[:at] + clauses + text[at:]


def _cache_key(version, query, bindings, default_graphs, named_graphs) -> tuple | None:
    """The result cache's key, or None when a binding cannot be part of one (then no caching).

    Bindings are rdflib terms, whose equality is term equality (same IRI, or same lexical form,
    datatype and language), so equal keys bind to the same query text."""
    items = tuple(bindings.items()) if bindings else ()
    key = (version, query, items, tuple(default_graphs), tuple(named_graphs))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _body_from_result(result: QueryResult, fmt: str) -> ResultBody:
    """A remote store's answer written out (its rdflib terms are there already)."""
    from .results import to_csv, to_json, to_xml

    writer = {"json": to_json, "xml": to_xml, "csv": to_csv, "tsv": lambda r: to_csv(r, "\t")}[fmt]
    return ResultBody(result.kind, fmt, writer(result).encode("utf-8"), result.truncated, result.elapsed)


def _term(encoded):
    if encoded is None:
        return None
    kind = encoded[0]
    if kind == "u":
        return URIRef(encoded[1])
    if kind == "b":
        return BNode(encoded[1])
    _, value, language, datatype = encoded
    if language:
        return Literal(value, lang=language)
    if datatype == "http://www.w3.org/2001/XMLSchema#string":
        return Literal(value)
    return Literal(value, datatype=URIRef(datatype))


def _from_payload(payload: dict) -> QueryResult:
    if payload["kind"] == "ask":
        return QueryResult("ask", boolean=payload["boolean"])
    if payload["kind"] == "select":
        names = payload["variables"]
        rows = [
            {name: _term(value) for name, value in zip(names, row) if value is not None} for row in payload["rows"]
        ]
        return QueryResult("select", variables=names, rows=rows, truncated=payload["truncated"])
    triples = [tuple(_term(t) for t in triple) for triple in payload["triples"]]
    return QueryResult("graph", triples=triples, truncated=payload["truncated"])


__all__ = ["BODY_FORMATS", "Limits", "QueryRefused", "ResultBody", "QueryRunner", "QueryTimeout", "RunnerBusy", "META_GRAPH", "QueryTextError"]
