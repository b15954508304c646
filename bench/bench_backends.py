"""The research queries on each store backend, in one run: embedded Oxigraph, `oxigraph serve`, Virtuoso.

    .venv/bin/python bench/bench_backends.py [--updates 100000] [--work /tmp/kg-backends] [--runs 5]
        [--json OUT.json] [--only LABEL ...] [--backends embedded,oxigraph,virtuoso]

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
  NumberOfBuffers raised to 100,000 = 800 MB, ResultSetMaxRows and MaxSortedTopRows 10^6 so that
  no answer is cut, MaxQueryExecutionTime T), loaded with its bulk loader (`ld_dir` +
  `rdf_loader_run` + `checkpoint` through isql); queried through `RemoteStore.query` like oxigraph.

The queries are bench/research_queries.py's cases (every `kind: research` query, with the values a
researcher types, bound as the pages bind them). Per query and backend: one warm-up, then RUNS
timed runs; the figure is the median, in ms, of the whole call (request, answer, parsing into
rdflib terms). A warm-up that runs past T seconds (--timeout) is reported as "> T s" and not timed
further. Row counts are compared across backends. Server memory is VmRSS from /proc after the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import pyoxigraph  # noqa: E402

from kg.load import graph_iri_for  # noqa: E402
from kg.store import EmbeddedStore, RemoteStore, StoreError  # noqa: E402
from research_queries import cases  # noqa: E402


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


def time_queries(run, label: str, runs: int, only: set[str], timeout: float) -> dict:
    """Time RUN(text) -> QueryResult on every case."""
    from kg.runner import QueryTimeout

    results = {}
    for case, text in cases():
        if only and case not in only:
            continue
        try:
            started = time.perf_counter()
            rows = len(run(text).rows)  # warm-up
            warm = time.perf_counter() - started
            times = []
            for _ in range(runs if warm < timeout / 2 else 1):
                started = time.perf_counter()
                run(text)
                times.append(1000 * (time.perf_counter() - started))
            results[case] = {"rows": rows, "ms": statistics.median(times)}
            log(f"{label:9s} {case:40s} {rows:7d} rows {statistics.median(times):9.1f} ms")
        except (StoreError, QueryTimeout) as error:
            timed_out = isinstance(error, QueryTimeout) or "timed out" in error.message.lower() or (
                "Timeout" in error.message)
            results[case] = {"timeout": timeout} if timed_out else {"error": error.message[:300]}
            log(f"{label:9s} {case:40s} {'> %g s' % timeout if timed_out else 'ERROR ' + error.message[:160]}")
    return results


def run_embedded(dataset: Path, work: Path, runs: int, only: set[str], timeout: float) -> dict:
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
    from kg.runner import Limits, QueryRunner

    store = EmbeddedStore(folder, read_only=True)
    info["quads"] = len(store.oxigraph)
    store.close()
    del store
    info["disk_mb"] = folder_mb(folder)
    runner = QueryRunner(None, Limits(timeout=timeout, max_rows=10**7, workers=1), store_path=folder)
    try:
        info["queries"] = time_queries(runner.run, "embedded", runs, only, timeout)
        workers = list(runner.pool._idle.queue) if runner.pool else []
        info["rss_mb"] = max((rss_mb(w.process.pid) or 0 for w in workers), default=None)
    finally:
        runner.close()
    return info


def run_oxigraph(dataset: Path, work: Path, runs: int, only: set[str], timeout: float) -> dict:
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
        info["queries"] = time_queries(store.query, "oxigraph", runs, only, timeout)
        info["rss_mb"] = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return info


def run_virtuoso(dataset: Path, work: Path, runs: int, only: set[str], timeout: float) -> dict:
    from servers import virtuoso_serve

    folder = work / "virtuoso"
    if folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)  # the fixture makes a new database each time
    folder.mkdir(parents=True)
    os.link(dataset, folder / "all.nq")  # the bulk loader reads only from DirsAllowed (the folder)
    info = {}
    with virtuoso_serve(folder=folder, max_rows=10**6, max_sorted_rows=10**6, max_seconds=int(timeout),
                        buffers=100000) as server:
        info["startup_s"] = server.startup
        started = time.perf_counter()
        server.isql(
            f"ld_dir ('{folder}', 'all.nq', 'http://example.org/unused-default');\n"
            "rdf_loader_run ();\ncheckpoint;\n",
            timeout=3600,
        )
        info["load_s"] = time.perf_counter() - started
        loaded = server.isql("SELECT ll_state, ll_error FROM DB.DBA.load_list;")
        if "NULL" not in loaded.split("ll_error")[-1]:
            log(f"virtuoso loader: {loaded[-400:]}")
        (folder / "all.nq").unlink()
        store = server.store(timeout=timeout + 5)
        info["quads"] = int(store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows[0]["n"])
        info["disk_mb"] = folder_mb(folder)
        info["queries"] = time_queries(store.query, "virtuoso", runs, only, timeout)
        info["rss_mb"] = rss_mb(server.process.pid)
    return info


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
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    dataset = build_dataset(args.work, args.updates)
    log(f"dataset {dataset} ({dataset.stat().st_size / 2**20:.0f} MB)")
    runners = {"embedded": run_embedded, "oxigraph": run_oxigraph, "virtuoso": run_virtuoso}
    results = {}
    for name in args.backends.split(","):
        log(f"--- {name}")
        results[name] = runners[name](dataset, args.work, args.runs, set(args.only), args.timeout)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    for name, info in results.items():
        facts = ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items() if k != "queries")
        print(f"{name}: {facts}")
    print(table(results))
    errors = {(b, q): r["error"] for b, info in results.items() for q, r in info.get("queries", {}).items() if "error" in r}
    for (b, q), message in errors.items():
        print(f"- {b} / {q}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
