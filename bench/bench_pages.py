"""Page speed: the home, a country and an update page against a static file of the same size.

    .venv/bin/python bench/bench_pages.py --store /tmp/bench-100k [--requests 200] [--cold 5] \
        [--country country:DE] [--update N] [--json OUT.json] [--skip-http] [--skip-queries]

Three parts, all on STORE (the synthetic corpus, see bench/synthetic.py):

1. Every page query (each named query in src/kg/queries/ that is not ``#+ kind: research``)
   with representative parameters, run directly on a read-only pyoxigraph handle with the
   default graph as the union (as the query workers run them): median of 3 after one warm-up,
   each query in a child process stopped after --query-timeout seconds. Queries over 200 ms
   are listed as slow.
2. The queries the three pages actually send (recorded from kg.views through a QueryRunner,
   labels included), timed the same way.
3. Over HTTP: the app served by `gunicorn -w 1 -k gthread --threads 4 app:app` on 127.0.0.1
   (KG_STORE=STORE, default limits). For each page its HTML is fetched once, and written as
   ``src/kg/web/static/bench-static-<page>.html`` — the same bytes, so the same size — which
   Flask's static route then serves from the same server and process (deleted afterwards).
   COLD: the store's version marker is renewed (as every `kg load` does, so cached query
   results are dropped and the query workers reopen the store), then the page is requested
   once; --cold times per page. WARM: after one request fills the cache, --requests sequential
   requests of the page alternating with requests of its static twin, one new connection each
   (urllib, same client for both); p50 and p90 of each. With --extras, also /countries,
   /.well-known/void and GET /sparql (the service description), cold and warm.

The store must not be one you keep: the cold runs write its version marker. To benchmark on a
copy of a store built with `oxigraph load` (no provenance), with the meta-graph records that
`kg load` would have written (the VoID and the service description read graph sizes there):

    .venv/bin/python bench/bench_pages.py prepare /tmp/bench-100k /tmp/pages-100k
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
STATIC = ROOT / "src" / "kg" / "web" / "static"
SLOW_MS = 200.0


# -- page queries -----------------------------------------------------------------------------------


def representative(country: str, update: str) -> dict[str, list[tuple[str, dict]]]:
    """Cases per page query: (case label, parameter values as a user would type them)."""
    return {
        "country-developments": [("", {"country": country})],
        "country-figures": [("", {"country": country})],
        "country-related": [("", {"country": country})],
        "country-updates": [("", {"country": country})],
        "countries": [("", {}), ("region", {"region": "region:150"})],
        "describe": [("country", {"resource": country}), ("update", {"resource": update})],
        "describe-in": [("country", {"resource": country}), ("update", {"resource": update})],
        "describe-out": [("country", {"resource": country}), ("update", {"resource": update})],
        "labels": [("one", {"s": country})],
        "measure-type-reports": [("", {"type": "mt:release-of-detainees"})],
        "measures": [("", {}), ("country", {"country": country}), ("country+type", {"country": country, "type": "mt:release-of-detainees"})],
        "resource-developments": [("organisation", {"resource": "organisation:international-legal-initiative"})],
        "search": [("", {"text": "Germany"})],
        "update-crossrefs": [("", {"update": update})],
        "update-developments": [("", {"update": update})],
        "update-figures": [("", {"update": update})],
        "update-involved": [("", {"update": update})],
        "updates": [("", {}), ("country", {"country": country})],
        "void-graph-count": [("meta", {"g": "<https://w3id.org/detention-kg/id/graph/meta>"})],
    }


def page_query_cases(country: str, update: str) -> list[tuple[str, str]]:
    from kg import named_queries
    from kg.sparql import bind

    cases = []
    params = representative(country, update)
    for name in named_queries.names():
        query = named_queries.load(name)
        if query.kind == "research":
            continue
        for case, values in params.get(name, [("", {})]):
            text = bind(query.sparql, query.bindings(values)) if values else query.sparql
            cases.append((name + (f" ({case})" if case else ""), text))
    return cases


def time_query_child(store: str, text: str, repeat: int) -> None:
    """(child process) print the row count and the timings of TEXT, as JSON."""
    import pyoxigraph

    handle = pyoxigraph.Store.read_only(store)
    times, rows = [], 0
    for _ in range(repeat + 1):  # the first is the warm-up
        started = time.perf_counter()
        rows = sum(1 for _ in handle.query(text, use_default_graph_as_union=True))
        times.append(time.perf_counter() - started)
    print(json.dumps({"rows": rows, "warmup": times[0], "times": times[1:]}))


def time_query(store: str, text: str, repeat: int, timeout: float) -> dict:
    try:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "time-query", store, str(repeat)],
            input=text, capture_output=True, text=True, timeout=timeout, check=True,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:g} s"}
    except subprocess.CalledProcessError as error:
        return {"error": error.stderr.strip().splitlines()[-1] if error.stderr.strip() else str(error)}
    result = json.loads(out.stdout)
    result["median_ms"] = 1000 * statistics.median(result["times"])
    return result


class RecordingRunner:
    """A QueryRunner that remembers the query texts a view sends."""

    def __new__(cls, store: str):
        from kg.runner import Limits, QueryRunner

        class _Recording(QueryRunner):
            def run(self, query, bindings=None, **kwargs):
                from kg.sparql import bind

                self.sent.append((name_of(query), bind(query, bindings) if bindings else query))
                return super().run(query, bindings, **kwargs)

        runner = _Recording(None, Limits(timeout=120, max_rows=10_000, workers=1), store_path=store)
        runner.sent = []
        return runner


def name_of(text: str) -> str:
    """The named query a sent text came from (equal to it once a VALUES block bind_rows added is removed)."""
    import re

    from kg import named_queries

    by_text = {named_queries.load(n).sparql: n for n in named_queries.names()}
    if text in by_text:
        return by_text[text]
    stripped = re.sub(r" VALUES \([^)]*\) \{ .*? \} ", "", text, count=1, flags=re.S)
    return by_text.get(stripped, "?")


def pages_queries(store: str, pages: dict[str, str]) -> dict[str, list[str]]:
    """The query texts each page's view sends (home, country, update), describe() included."""
    from kg import named_queries, views
    from kg.sparql import bind

    runner = RecordingRunner(store)
    sent = {}
    try:
        for label, iri in pages.items():
            runner.sent = []
            if iri is None:
                views.home(runner)
            else:
                views.resource(runner, iri)
                describe = named_queries.load("describe")
                runner.sent.append(("describe", bind(describe.sparql, describe.bindings({"resource": f"<{iri}>"}))))
            sent[label] = list(runner.sent)
    finally:
        runner.close()
    return sent


# -- HTTP ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 120, accept: str = "text/html") -> tuple[float, bytes, int]:
    started = time.perf_counter()
    req = urllib.request.Request(url, headers={"Accept": accept, "Connection": "close"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        body = response.read()
        status = response.status
    return time.perf_counter() - started, body, status


def renew_marker(store: str) -> None:
    """What every write does (kg.store.embedded): a new version marker, so caches and handles renew."""
    marker = Path(store) / "kg-version"
    scratch = marker.with_name("kg-version.tmp")
    scratch.write_text(str(time.time_ns()))
    os.replace(scratch, marker)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


#: Pages timed cold and warm without a static twin: the other pages whose queries scan every update.
EXTRAS = {
    "countries": ("/countries", "text/html"),
    "void": ("/.well-known/void", "text/turtle"),
    "service-description": ("/sparql", "text/turtle"),
}


def extras_bench(base: str, store: str, n: int, cold_n: int) -> dict:
    """Cold (after a new version marker) and warm times of EXTRAS, each alone."""
    out = {}
    for label, (path, accept) in EXTRAS.items():
        cold = []
        for _ in range(cold_n):
            renew_marker(store)
            seconds, body, status = fetch(base + path, accept=accept)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
            cold.append(seconds)
        warm = [fetch(base + path, accept=accept)[0] for _ in range(n)]
        out[label] = {"path": path, "bytes": len(body), "cold_ms": [round(1000 * c, 1) for c in cold],
                      "warm_p50_ms": 1000 * pct(warm, 0.5), "warm_p90_ms": 1000 * pct(warm, 0.9)}
        print(f"{label:20s} {len(body):10d} B  cold median {statistics.median(out[label]['cold_ms']):9.1f} ms "
              f"(max {max(out[label]['cold_ms']):.1f})  warm p50 {out[label]['warm_p50_ms']:8.2f} "
              f"p90 {out[label]['warm_p90_ms']:8.2f}", flush=True)
    return out


def http_bench(store: str, pages: dict[str, str], n: int, cold_n: int, logdir: str, extras: bool = False) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    Path(logdir).mkdir(parents=True, exist_ok=True)
    log = open(f"{logdir}/gunicorn-pages.log", "wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "1", "-k", "gthread", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "app:app"],
        cwd=str(ROOT), env={**os.environ, "KG_STORE": store}, stdout=log, stderr=log,
        stdin=subprocess.DEVNULL, start_new_session=True)
    written: list[Path] = []
    out: dict = {"pages": {}}
    try:
        for _ in range(240):
            try:
                fetch(base + "/static/site.css", 5)
                break
            except OSError:
                time.sleep(0.5)
        for label, path in pages.items():
            url = base + path
            cold = []
            for _ in range(cold_n):
                renew_marker(store)
                seconds, body, status = fetch(url)
                if status != 200:
                    raise SystemExit(f"{url} answered {status}")
                cold.append(seconds)
            fetch(url)  # the cache is filled
            static = STATIC / f"bench-static-{label}.html"
            static.write_bytes(body)
            written.append(static)
            static_url = f"{base}/static/{static.name}"
            _, static_body, _ = fetch(static_url)
            assert static_body == body, "the static file is not served as written"
            page_times, static_times = [], []
            for _ in range(n):
                page_times.append(fetch(url)[0])
                static_times.append(fetch(static_url)[0])
            entry = {
                "path": path, "bytes": len(body),
                "cold_ms": [round(1000 * c, 1) for c in cold],
                "page_p50_ms": 1000 * pct(page_times, 0.5), "page_p90_ms": 1000 * pct(page_times, 0.9),
                "static_p50_ms": 1000 * pct(static_times, 0.5), "static_p90_ms": 1000 * pct(static_times, 0.9),
            }
            entry["ratio_p50"] = entry["page_p50_ms"] / entry["static_p50_ms"]
            out["pages"][label] = entry
            print(f"{label:8s} {len(body):8d} B  cold median {statistics.median(entry['cold_ms']):8.1f} ms "
                  f"(max {max(entry['cold_ms']):.1f})  warm p50 {entry['page_p50_ms']:7.2f} p90 {entry['page_p90_ms']:7.2f}  "
                  f"static p50 {entry['static_p50_ms']:6.2f} p90 {entry['static_p90_ms']:6.2f}  "
                  f"ratio {entry['ratio_p50']:.2f}", flush=True)
        if extras:
            out["extras"] = extras_bench(base, store, max(1, n // 10), cold_n)
    finally:
        for path in written:
            path.unlink(missing_ok=True)
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    return out


# -- a store with provenance ------------------------------------------------------------------------


def prepare(source: str, target: str) -> None:
    """Copy the store SOURCE (built with `oxigraph load`: no provenance, no version marker) to
    TARGET and add what `kg load` would have written: a meta-graph record per graph (its triple
    count, as counted now; file name and sha256 of the graph's own N-Quads, since the files are
    not at hand), a store version and the kg-version marker."""
    import hashlib
    import shutil

    import pyoxigraph as ox

    from kg.bulk import _bump_version_by, _FileInfo, _provenance_nquads  # what the bulk loader writes
    from kg.store.base import META_GRAPH

    if Path(target).exists():
        raise SystemExit(f"{target} exists; remove it first")
    started = time.perf_counter()
    shutil.copytree(source, target)
    store = ox.Store(target)
    counts = {r["g"].value: int(r["n"].value) for r in store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    counts.pop(str(META_GRAPH), None)
    quads = []
    for graph, n in sorted(counts.items()):
        label = f"{graph.rsplit('/graph/', 1)[-1]}.ttl"
        info = _FileInfo.__new__(_FileInfo)
        info.graph, info.label, info.triples = graph, label, n
        info.sha256 = hashlib.sha256(graph.encode()).hexdigest()
        quads.append(_provenance_nquads(info, added=n, removed=0)[1])
    store.load("".join(quads).encode(), format=ox.RdfFormat.N_QUADS)
    store.update(_bump_version_by(len(counts)))
    store.flush()
    store.optimize()
    del store
    renew_marker(target)
    print(f"{target}: provenance of {len(counts)} graphs added in {time.perf_counter() - started:.0f} s")


# -- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "time-query":
        time_query_child(sys.argv[2], sys.stdin.read(), int(sys.argv[3]))
        return 0
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "prepare":
        if len(sys.argv) != 4:
            raise SystemExit("usage: bench_pages.py prepare SOURCE_STORE TARGET_STORE")
        prepare(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--country", default="country:DE")
    parser.add_argument("--update", type=int, default=50_000, help="number of the synthetic update whose page is measured")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--query-timeout", type=float, default=120.0)
    parser.add_argument("--json")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--extras", action="store_true", help="also time /countries, /.well-known/void and GET /sparql")
    parser.add_argument("--logdir", default="/tmp/bench-pages-logs")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "bench"))
    from synthetic import update_slug

    from kg import named_queries
    from kg.namespaces import BASE

    country_iri = str(named_queries.parse_iri(args.country))
    update_iri = f"{BASE}id/update/{update_slug(args.update)}"
    report: dict = {"store": args.store, "country": country_iri, "update": update_iri}

    if not args.skip_queries:
        print("# page queries (pyoxigraph, union default graph), median of", args.repeat, flush=True)
        report["page_queries"] = {}
        for label, text in page_query_cases(f"<{country_iri}>", f"<{update_iri}>"):
            result = time_query(args.store, text, args.repeat, args.query_timeout)
            report["page_queries"][label] = result
            shown = f"{result['median_ms']:9.1f} ms {result['rows']:7d} rows" if "error" not in result else result["error"]
            flag = "  SLOW" if "error" in result or result["median_ms"] > SLOW_MS else ""
            print(f"{label:40s} {shown}{flag}", flush=True)
        print("# the queries each page sends", flush=True)
        report["sent"] = {}
        sent = pages_queries(args.store, {"home": None, "country": country_iri, "update": update_iri})
        for page, texts in sent.items():
            report["sent"][page] = []
            for name, text in texts:
                result = time_query(args.store, text, args.repeat, args.query_timeout)
                result["name"] = name
                report["sent"][page].append(result)
                shown = f"{result['median_ms']:9.1f} ms {result['rows']:7d} rows" if "error" not in result else result["error"]
                print(f"{page:8s} {result['name']:30s} {shown}", flush=True)

    if not args.skip_http:
        print(f"# HTTP: {args.requests} warm requests each, {args.cold} cold", flush=True)
        paths = {"home": "/", "country": "/" + country_iri[len(BASE):], "update": "/" + update_iri[len(BASE):]}
        report["http"] = http_bench(args.store, paths, args.requests, args.cold, args.logdir, args.extras)

    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
