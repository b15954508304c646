"""The research queries and the main pages on each store backend, in one run: embedded Oxigraph,
`oxigraph serve`, Virtuoso.

    .venv/bin/python bench/bench_backends.py [--updates 100000] [--work /tmp/kg-backends] [--runs 5]
        [--json OUT.json] [--only LABEL ...] [--backends embedded,oxigraph,virtuoso]
        [--no-queries] [--no-pages] [--page-runs 3] [--virtuoso-buffers 100000]

All three hold exactly the same quads: the synthetic corpus of bench/synthetic.py (N updates,
one named graph each, written once as N-Quads) plus ontology/ and data/reference/ in the graphs
`kg load` gives them, all in WORK/all.nq (made once, then reused). Each backend is loaded with
its own bulk loader, timed:

- embedded: `pyoxigraph.Store.bulk_load` into a folder, then `optimize`; queried as the app
  queries it: `QueryRunner` with one query worker process (`python -m kg.query_worker`, a
  read-only handle), killed at the time limit;
- oxigraph: `oxigraph load` into a folder, then `optimize`, then `oxigraph serve-read-only
  --union-default-graph --timeout-s T` on 127.0.0.1; queried through `RemoteStore.query` (HTTP,
  SPARQL JSON);
- virtuoso: `virtuoso-t` with the generated virtuoso.ini of tests/servers.py (loopback only,
  NumberOfBuffers --virtuoso-buffers, 100,000 = 800 MB by default, ResultSetMaxRows and MaxSortedTopRows 10^6 so that
  no answer is cut, MaxQueryExecutionTime T), loaded with its bulk loader (`ld_dir` +
  `rdf_loader_run` + `checkpoint` through isql); queried through `RemoteStore.query` like oxigraph.

The pages (unless --no-pages): home, countries, a country (--country, default DE), an update
(synthetic update number --update, default 12345, in every corpus of more updates than that) and
a measure type (release of detainees: its page also draws the matrix's map), fetched as HTML from
the Flask app (in this process, `create_app` with KG_STORE or KG_SPARQL_QUERY as a deployment
sets them; on the embedded store its query workers, 2 by default) with both of its caches (page
responses, query results) emptied before each request, so that every timed request runs all the
page's queries: one warm-up, then the median of --page-runs, in ms. The cached figure (a request
served from the page cache) is the app's own floor. A page that fails or runs past the query
time limit is reported with its status.

The queries are bench/research_queries.py's cases (every `kind: research` query, with the values a
researcher types, bound as the pages bind them). Per query and backend: one warm-up, then RUNS
timed runs; the figure is the median, in ms, of the whole call (request, answer, parsing into
rdflib terms). A warm-up that runs past T seconds (--timeout) is reported as "> T s" and not timed
further; one that takes more than T/2 is the only run. Row counts are compared across backends.
Server memory is VmRSS from /proc (the embedded store: its query worker) after the queries and
after the pages.

All backends are open at once and every query and page is timed on each in turn (warm-ups first,
then RUNS rounds over the backends), so that the machine's changing load falls on all of them and
the ratios between backends hold better than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import pyoxigraph  # noqa: E402

from kg.load import graph_iri_for  # noqa: E402
from kg.store import EmbeddedStore, RemoteStore, StoreError  # noqa: E402
from research_queries import cases  # noqa: E402


#: What main's options ask for (set there; the backends' runners read it).
OPTIONS: dict = {"queries": True, "pages": True, "page_runs": 3, "paths": {}, "virtuoso_buffers": 100000,
                 "load_timeout": 3600}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_dataset(work: Path, updates: int) -> Path:
    """WORK/all.nq: the synthetic updates plus ontology and reference data in their graphs."""
    target = work / "all.nq"
    if target.exists():
        return target
    src = work / "src"
    if not (src / "updates.nq").exists():
        log(f"generating {updates} synthetic updates")
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "synthetic.py"), str(updates), str(src / "updates"),
             "--dataset", str(src / "updates.nq")],
            check=True,
        )
    scratch = work / "all.nq.part"
    with open(scratch, "wb") as out:
        for path in sorted([*ROOT.glob("ontology/*.ttl"), *ROOT.glob("data/reference/*.ttl")]):
            graph = pyoxigraph.NamedNode(graph_iri_for(path, []))
            quads = (pyoxigraph.Quad(t.subject, t.predicate, t.object, graph)
                     for t in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE))
            out.write(pyoxigraph.serialize(quads, format=pyoxigraph.RdfFormat.N_QUADS))
        with open(src / "updates.nq", "rb") as updates_file:
            while chunk := updates_file.read(1 << 24):
                out.write(chunk)
    scratch.rename(target)
    return target


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


class Backend:
    """One store backend, open: how to query it, how the app reaches it, its server's process."""

    def __init__(self, name: str, info: dict, query, app_config: dict, pid=None):
        self.name, self.info, self.query, self.app_config, self.pid = name, info, query, app_config, pid
        self.app = None

    def rss(self) -> float | None:
        pid = self.pid() if callable(self.pid) else self.pid
        return rss_mb(pid) if pid else None


def time_query_once(backend: Backend, text: str, timeout: float) -> dict:
    """One call of the backend's query: {"rows", "ms"}, {"timeout"} or {"error"}."""
    from kg.runner import QueryTimeout

    try:
        started = time.perf_counter()
        rows = len(backend.query(text).rows)
        return {"rows": rows, "ms": 1000 * (time.perf_counter() - started)}
    except (StoreError, QueryTimeout) as error:
        timed_out = isinstance(error, QueryTimeout) or "timed out" in error.message.lower() or (
            "Timeout" in error.message)
        return {"timeout": timeout} if timed_out else {"error": error.message[:300]}


def time_queries(backends: list[Backend], runs: int, only: set[str], timeout: float) -> None:
    """Every case on every backend, interleaved: per case, a warm-up on each backend, then RUNS rounds
    over the backends in turn (so that a change in the machine's load falls on all of them)."""
    for case, text in cases():
        if only and case not in only:
            continue
        alive, times = [], {}
        for backend in backends:
            warm = time_query_once(backend, text, timeout)
            if "ms" in warm and warm["ms"] < 1000 * timeout / 2:
                alive.append(backend)
                times[backend.name] = ([], warm["rows"])
            else:
                backend.info.setdefault("queries", {})[case] = warm if "ms" not in warm else {
                    "rows": warm["rows"], "ms": warm["ms"], "runs": 1}
        for _ in range(runs):
            for backend in alive:
                once = time_query_once(backend, text, timeout)
                if "ms" in once:
                    times[backend.name][0].append(once["ms"])
        for backend in backends:
            if backend in alive:
                measured, rows = times[backend.name]
                backend.info.setdefault("queries", {})[case] = {"rows": rows, "ms": statistics.median(measured),
                                                                "runs": len(measured)}
            result = backend.info["queries"][case]
            shown = (f"{result['rows']:7d} rows {result['ms']:9.1f} ms" if "ms" in result else
                     f"> {timeout:g} s" if "timeout" in result else "ERROR " + result["error"][:160])
            log(f"{backend.name:9s} {case:40s} {shown}")


PAGES_TIMED = ("home", "countries", "country", "update", "measure-type")


def page_paths(country: str, update: int) -> dict[str, str]:
    from synthetic import update_slug

    return {
        "home": "/",
        "countries": "/countries",
        "country": f"/id/country/{country}",
        "update": f"/id/update/{update_slug(update)}",
        "measure-type": "/def/measure-type/release-of-detainees",
    }


def fetch_page(app, path: str, empty: bool = True) -> tuple[float, int, int]:
    """Time one GET of PATH (HTML); with EMPTY, the app's page and query caches are emptied first."""
    if empty:
        cache = app.extensions.get("kg_response_cache")
        if cache is not None:
            cache.clear()
        runner = app.extensions.get("kg_runner")
        if runner is not None:
            with runner._cache_lock:
                runner._cache.clear()
            runner._graphs = None
    client = app.test_client()
    started = time.perf_counter()
    response = client.get(path, headers={"Accept": "text/html"})
    return 1000 * (time.perf_counter() - started), response.status_code, len(response.data)


def time_pages(backends: list[Backend], paths: dict[str, str], runs: int) -> None:
    """Each page from each backend's app (Flask, in this process), interleaved like the queries."""
    from kg.web import create_app

    for backend in backends:
        backend.app = create_app({**backend.app_config, "TESTING": True})
        backend.info["pages"] = {}
    for name, path in paths.items():
        alive = []
        for backend in backends:
            first, status, size = fetch_page(backend.app, path)
            backend.info["pages"][name] = {"path": path, "status": status, "bytes": size, "first_ms": first}
            if status == 200:
                alive.append(backend)
            else:
                log(f"{backend.name:9s} page {name:14s} status {status} after {first:.0f} ms")
        measured = {b.name: [] for b in alive}
        for _ in range(runs):
            for backend in alive:
                measured[backend.name].append(fetch_page(backend.app, path)[0])
        for backend in alive:
            fetch_page(backend.app, path, empty=False)
            cached = statistics.median(fetch_page(backend.app, path, empty=False)[0] for _ in range(5))
            page = backend.info["pages"][name]
            page.update(ms=statistics.median(measured[backend.name]), cached_ms=cached, runs=runs)
            log(f"{backend.name:9s} page {name:14s} {page['ms']:9.1f} ms (first {page['first_ms']:.0f}, "
                f"cached {cached:.1f}) {page['bytes']} bytes")
    for backend in backends:
        runner = backend.app.extensions.get("kg_runner")
        if runner is not None:
            runner.close()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextmanager
def open_embedded(dataset: Path, work: Path, timeout: float):
    from kg.runner import Limits, QueryRunner

    folder = work / "embedded"
    info = {}
    if not folder.exists():
        started = time.perf_counter()
        store = pyoxigraph.Store(str(folder))
        store.bulk_load(path=str(dataset), format=pyoxigraph.RdfFormat.N_QUADS)
        store.optimize()
        store.flush()
        del store
        info["load_s"] = time.perf_counter() - started
    store = EmbeddedStore(folder, read_only=True)
    info["quads"] = len(store.oxigraph)
    store.close()
    del store
    info["disk_mb"] = folder_mb(folder)
    runner = QueryRunner(None, Limits(timeout=timeout, max_rows=10**7, workers=1), store_path=folder)

    def worker_pid():
        workers = list(runner.pool._idle.queue) if runner.pool else []
        return workers[0].process.pid if workers else None

    try:
        yield Backend("embedded", info, runner.run, {"KG_STORE": str(folder), "KG_QUERY_TIMEOUT": str(timeout)},
                      worker_pid)
    finally:
        runner.close()


@contextmanager
def open_oxigraph(dataset: Path, work: Path, timeout: float):
    from servers import free_port, oxigraph_binary, wait_for

    folder = work / "oxigraph"
    info = {}
    if not folder.exists():
        started = time.perf_counter()
        subprocess.run([oxigraph_binary(), "load", "--location", str(folder), "--file", str(dataset)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([oxigraph_binary(), "optimize", "--location", str(folder)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        info["load_s"] = time.perf_counter() - started
    port = free_port()
    process = subprocess.Popen(
        [oxigraph_binary(), "serve-read-only", "--location", str(folder), "--bind", f"127.0.0.1:{port}",
         "--union-default-graph", "--timeout-s", str(int(timeout))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/query?query=ASK%7B%7D", process, timeout=120)
        store = RemoteStore(f"{base}/query", timeout=timeout + 5)
        info["disk_mb"] = folder_mb(folder)
        yield Backend("oxigraph", info, store.query, {
            "KG_SPARQL_QUERY": f"{base}/query", "KG_SPARQL_TIMEOUT": str(timeout + 5),
            "KG_QUERY_TIMEOUT": str(timeout)}, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def open_virtuoso(dataset: Path, work: Path, timeout: float):
    from servers import virtuoso_serve

    folder = work / "virtuoso"
    if folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)  # the fixture makes a new database each time
    folder.mkdir(parents=True)
    os.link(dataset, folder / "all.nq")  # the bulk loader reads only from DirsAllowed (the folder)
    info = {}
    with virtuoso_serve(folder=folder, max_rows=10**6, max_sorted_rows=10**6, max_seconds=int(timeout),
                        buffers=OPTIONS["virtuoso_buffers"]) as server:
        info["startup_s"] = server.startup
        started = time.perf_counter()
        server.isql(
            f"ld_dir ('{folder}', 'all.nq', 'http://example.org/unused-default');\n"
            "rdf_loader_run ();\ncheckpoint;\n",
            timeout=OPTIONS["load_timeout"],
        )
        info["load_s"] = time.perf_counter() - started
        info["rss_mb_after_load"] = rss_mb(server.process.pid)
        log(f"virtuoso loaded in {info['load_s']:.0f} s, VmRSS {info['rss_mb_after_load']:.0f} MB")
        loaded = server.isql("SELECT ll_state, ll_error FROM DB.DBA.load_list;")
        if "NULL" not in loaded.split("ll_error")[-1]:
            log(f"virtuoso loader: {loaded[-400:]}")
        (folder / "all.nq").unlink()
        store = server.store(timeout=timeout + 5)
        info["quads"] = int(store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows[0]["n"])
        info["disk_mb"] = folder_mb(folder)
        log(f"virtuoso: {info['quads']} quads, {info['disk_mb']:.0f} MB on disk")
        yield Backend("virtuoso", info, store.query, {
            "KG_SPARQL_QUERY": server.query_url, "KG_SPARQL_TIMEOUT": str(timeout + 5),
            "KG_QUERY_TIMEOUT": str(timeout)}, server.process.pid)


def pages_table(results: dict) -> str:
    backends = [b for b in results if results[b].get("pages")]
    lines = ["| page | " + " | ".join(f"{b} ms" for b in backends) + " |", "|---|" + "---:|" * len(backends)]
    for name in PAGES_TIMED:
        cells = []
        for b in backends:
            page = results[b]["pages"].get(name)
            if page is None:
                cells.append("–")
            elif page["status"] != 200:
                cells.append(f"status {page['status']} ({page['first_ms']:.0f} ms)")
            else:
                cells.append(f"{page['ms']:.0f} (cached {page['cached_ms']:.1f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(results: dict) -> str:
    backends = list(results)
    labels = []
    for info in results.values():
        labels += [label for label in info.get("queries", {}) if label not in labels]
    lines = ["| query | " + " | ".join(f"{b} ms (rows)" for b in backends) + " |",
             "|---|" + "---:|" * len(backends)]
    for label in labels:
        cells = []
        for b in backends:
            q = results[b].get("queries", {}).get(label)
            if q is None:
                cells.append("–")
            elif "error" in q:
                cells.append("error")
            elif "timeout" in q:
                cells.append(f"> {q['timeout']:g} s")
            else:
                cells.append(f"{q['ms']:.1f} ({q['rows']})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=100000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/kg-backends"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--backends", default="embedded,oxigraph,virtuoso")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a query may run (default 60)")
    parser.add_argument("--no-queries", action="store_true", help="skip the research queries")
    parser.add_argument("--no-pages", action="store_true", help="skip the pages")
    parser.add_argument("--page-runs", type=int, default=3)
    parser.add_argument("--country", default="DE", help="the country page's ISO code (default DE)")
    parser.add_argument("--update", type=int, default=12345, help="the update page's synthetic update number")
    parser.add_argument("--virtuoso-buffers", type=int, default=100000,
                        help="Virtuoso's NumberOfBuffers (8 kB pages; default 100,000 = 800 MB)")
    parser.add_argument("--load-timeout", type=float, default=3600, help="seconds Virtuoso's bulk load may take")
    args = parser.parse_args(argv)
    OPTIONS.update(queries=not args.no_queries, pages=not args.no_pages, page_runs=args.page_runs,
                   paths=page_paths(args.country, args.update), virtuoso_buffers=args.virtuoso_buffers,
                   load_timeout=args.load_timeout)
    log(f"load average {load_average()}")
    args.work.mkdir(parents=True, exist_ok=True)
    dataset = build_dataset(args.work, args.updates)
    log(f"dataset {dataset} ({dataset.stat().st_size / 2**20:.0f} MB)")
    openers = {"embedded": open_embedded, "oxigraph": open_oxigraph, "virtuoso": open_virtuoso}
    results = {}
    with ExitStack() as stack:
        backends = []
        for name in args.backends.split(","):
            log(f"--- {name} (load average {load_average()})")
            backend = stack.enter_context(openers[name](dataset, args.work, args.timeout))
            results[name] = backend.info
            backends.append(backend)
        if OPTIONS["queries"]:
            log(f"--- research queries, interleaved (load average {load_average()})")
            for backend in backends:
                backend.info["load_average_queries"] = load_average()
            time_queries(backends, args.runs, set(args.only), args.timeout)
            for backend in backends:
                backend.info["rss_mb_after_queries"] = backend.rss()
            if args.json:  # written as soon as there is something, so that a long run leaves what it measured
                args.json.write_text(json.dumps(results, indent=2))
        if OPTIONS["pages"]:
            log(f"--- pages, interleaved (load average {load_average()})")
            for backend in backends:
                backend.info["load_average_pages"] = load_average()
            time_pages(backends, OPTIONS["paths"], OPTIONS["page_runs"])
            for backend in backends:
                backend.info["rss_mb_after_pages"] = backend.rss()
        for backend in backends:
            backend.info["load_average_end"] = load_average()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    for name, info in results.items():
        facts = ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()
                          if k not in ("queries", "pages"))
        print(f"{name}: {facts}")
    if OPTIONS["queries"]:
        print(table(results))
    if OPTIONS["pages"]:
        print(pages_table(results))
    errors = {(b, q): r["error"] for b, info in results.items() for q, r in info.get("queries", {}).items() if "error" in r}
    for (b, q), message in errors.items():
        print(f"- {b} / {q}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
