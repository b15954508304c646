"""Check a reshaped research query against its old text: the same answers, and how long each takes.

A research query (``#+ kind: research``) is reshaped only to make an engine evaluate it faster;
its answers must not change. This runs the OLD and the NEW text of each query on the same data
with the same parameters, bound as the pages bind them (bench/research_queries.text_for), and
compares the rows as multisets of terms, and the sequence of the ORDER BY keys where there is one.

    python bench/reshape_check.py OLD_DIR [--new DIR] [--store PATH] [--curated] [--fixtures]
                                  [--only NAME ...] [--runs 3] [--timeout 120]

OLD_DIR holds the old texts as NAME.rq (e.g. from `git show HEAD:src/kg/queries/NAME.rq`); the
new ones default to src/kg/queries/. Data sets:

* ``--store PATH``: an on-disk Oxigraph store (opened read-only, union default graph), with the
  parameters of bench/research_queries.CASES; each text is timed (a warm-up, then the median of
  RUNS, old and new interleaved), in a child process that is killed after TIMEOUT seconds.
* ``--curated``: ontology/ and data/ (each file in its own graph, as tests/conftest.py loads them).
* ``--fixtures``: the web test store of tests/conftest.py (loaded with kg.load.Loader).

On the two small data sets every parameter is swept (every country pair among a sample, every
quantity kind, measure type, reporting body, a day in each week and every date in the data).
Run timings under the shared lock: ``flock /tmp/kg-bench.lock python bench/reshape_check.py …``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import pyoxigraph  # noqa: E402

from kg import named_queries  # noqa: E402
from kg.namespaces import sparql_prologue  # noqa: E402
from research_queries import CASES  # noqa: E402
from kg.sparql import bind  # noqa: E402


def bound_text(path: Path, values: dict[str, str]) -> str:
    query = named_queries.load(str(path))
    terms = query.bindings(values)
    return bind(query.sparql, terms) if terms else query.sparql


def order_keys(text: str) -> list[str]:
    """The variables of the query's final ORDER BY (ASC/DESC stripped), in order."""
    match = re.search(r"ORDER\s+BY\s+(.*?)\s*(?:LIMIT|OFFSET|$)", text.rsplit("}", 1)[-1], re.S | re.I)
    return re.findall(r"\?(\w+)", match.group(1)) if match else []


def run(store, text: str) -> tuple[list[str], list[tuple]]:
    result = store.query(text, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return names, [tuple(None if row[n] is None else str(row[n]) for n in names) for row in result]


def _child(path: str, text: str, runs: int, pipe) -> None:
    store = pyoxigraph.Store.read_only(path)
    times, answer = [], None
    for _ in range(runs):  # wall and CPU time: the machine is shared, CPU time is the steadier figure
        started, cpu = time.perf_counter(), time.process_time()
        answer = run(store, text)
        times.append((1000 * (time.perf_counter() - started), 1000 * (time.process_time() - cpu)))
        if len(times) == 1:
            pipe.send("first run done")
    pipe.send((times, answer))


def timed(path: str, text: str, runs: int, timeout: float):
    """(times in ms, (names, rows)) from a child process, or (None, None) if a run takes longer
    than TIMEOUT seconds (the first one is waited for TIMEOUT, the others as long as it took)."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(path, text, runs, child))
    process.start()
    child.close()
    try:
        if parent.poll(timeout) and parent.recv() and parent.poll(timeout * runs):
            times, answer = parent.recv()
            process.join()
            return times, answer
    except EOFError:  # the child died
        pass
    process.kill()
    process.join()
    return None, None


#: Columns made by GROUP_CONCAT: SPARQL leaves the order of the concatenated values to the engine,
#: and a reshaped query may visit the rows in another order. They are compared as sorted lists.
CONCATENATED = {"compare-countries": ("first", "second")}


def normalise(name: str, names: list[str], rows: list[tuple]) -> list[tuple]:
    columns = [names.index(c) for c in CONCATENATED.get(name, ()) if c in names]
    if not columns:
        return rows

    def fix(row):
        row = list(row)
        for i in columns:
            if row[i] is not None:
                text = row[i][1:row[i].rfind('"')]  # the lexical form of the N-Triples literal
                row[i] = "; ".join(sorted(text.split("; ")))
        return tuple(row)

    return [fix(row) for row in rows]


def compare(name: str, old_text: str, old, new) -> list[str]:
    """What differs between two answers (empty if they are the same)."""
    problems = []
    (old_names, old_rows), (new_names, new_rows) = old, new
    old_rows, new_rows = normalise(name, old_names, old_rows), normalise(name, new_names, new_rows)
    if old_names != new_names:
        return [f"variables {old_names} != {new_names}"]
    if Counter(old_rows) != Counter(new_rows):
        lost, gained = Counter(old_rows) - Counter(new_rows), Counter(new_rows) - Counter(old_rows)
        problems.append(f"rows differ: {sum(lost.values())} only in old (e.g. {list(lost)[:2]}), "
                        f"{sum(gained.values())} only in new (e.g. {list(gained)[:2]})")
    keys = [old_names.index(k) for k in order_keys(old_text) if k in old_names]
    if keys and [tuple(r[i] for i in keys) for r in old_rows] != [tuple(r[i] for i in keys) for r in new_rows]:
        problems.append("the ORDER BY keys come in another order")
    return problems


# -- data sets ----------------------------------------------------------------------------------


def curated_store(folder: Path) -> str:
    store = pyoxigraph.Store(str(folder))
    for path in sorted([*ROOT.glob("ontology/*.ttl"), *(ROOT / "data").rglob("*.ttl")]):
        store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE, to_graph=pyoxigraph.NamedNode(path.resolve().as_uri()))
    store.flush()
    del store
    return str(folder)


def fixture_store(folder: Path) -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import WEB_FILES

    from kg.load import Loader
    from kg.store import EmbeddedStore

    store = EmbeddedStore(folder)
    Loader(store).load(WEB_FILES)
    store.close()
    return str(folder)


def values_of(store, query: str) -> list[str]:
    return [str(row[0].value) for row in store.query(sparql_prologue() + query, use_default_graph_as_union=True)]


def sweep_cases(path: str) -> list[tuple[str, str, dict[str, str]]]:
    """Every research query with many parameter values found in the store at PATH."""
    store = pyoxigraph.Store.read_only(path)
    countries = values_of(store, "SELECT DISTINCT ?c WHERE { ?u a kg:Update ; kg:country ?c } ORDER BY ?c")
    kinds = values_of(store, "SELECT ?k WHERE { ?k a kg:QuantityKind } ORDER BY ?k")
    types = values_of(store, "SELECT ?t WHERE { ?t a kg:MeasureType } ORDER BY ?t")
    bodies = values_of(store, "SELECT DISTINCT ?b WHERE { ?d kg:accordingTo ?b } ORDER BY ?b")
    days = set(values_of(store, "SELECT DISTINCT ?day WHERE { ?x kg:beginDate|kg:endDate|kg:plannedEndDate|dcterms:issued ?day }"))
    day = date(2020, 1, 1)
    while day < date(2021, 3, 1):
        days.add(day.isoformat())
        day += timedelta(days=7)
    for text in list(days):  # the day before and after each date in the data: edges of "in force"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            for step in (-1, 1):
                days.add((date.fromisoformat(text) + timedelta(days=step)).isoformat())
    days = sorted(d for d in days if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d))
    pairs = [(a, b) for a in countries[:8] for b in countries[:8]]  # includes a = b
    pairs += random.Random(1).sample([(a, b) for a in countries for b in countries], min(300, len(countries) ** 2))
    cases = [(name, name, {}) for name in named_queries.names("research") if not named_queries.load(name).params]
    cases += [(f"compare-countries {a} {b}", "compare-countries", {"a": a, "b": b}) for a, b in pairs]
    cases += [(f"figures-by-kind {k}", "figures-by-kind", {"kind": k}) for k in kinds]
    cases += [(f"in-force-on {d}", "in-force-on", {"day": d}) for d in days]
    cases += [(f"theme-updates {t}", "theme-updates", {"theme": t}) for t in types]
    cases += [("who-reported-what", "who-reported-what", {})]
    cases += [(f"who-reported-what {b}", "who-reported-what", {"body": b}) for b in bodies]
    return cases


# -- main -----------------------------------------------------------------------------------------


_OPEN: dict[str, pyoxigraph.Store] = {}


def _open(path: str) -> pyoxigraph.Store:
    if path not in _OPEN:
        _OPEN[path] = pyoxigraph.Store.read_only(path)
    return _OPEN[path]


def median_pair(times: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and CPU ms over the runs after the warm-up."""
    runs = times[1:] or times
    return statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs)


def check(label, name, values, old_dir: Path, new_dir: Path, path: str, runs: int, timeout: float, timing: bool):
    old_text, new_text = bound_text(old_dir / f"{name}.rq", values), bound_text(new_dir / f"{name}.rq", values)
    if timing:  # a warm-up, then RUNS, old and new each in their own child so neither warms the other
        old_times, old = timed(path, old_text, runs + 1, timeout)
        new_times, new = timed(path, new_text, runs + 1, timeout)
    else:
        store = _open(path)
        old_times, old, new_times, new = [(0, 0)], run(store, old_text), [(0, 0)], run(store, new_text)
    row = {"label": label, "old_ms": None, "new_ms": None, "old_cpu": None, "new_cpu": None,
           "rows": None, "same": None, "problems": []}
    if old_times:
        row["old_ms"], row["old_cpu"] = median_pair(old_times)
    if new_times:
        row["new_ms"], row["new_cpu"] = median_pair(new_times)
        row["rows"] = len(new[1])
    if old and new:
        row["problems"] = compare(name, old_text, old, new)
        row["same"] = not row["problems"]
        row["identical_sequence"] = old[1] == new[1]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="folder of the old texts (NAME.rq)")
    parser.add_argument("--new", type=Path, default=ROOT / "src" / "kg" / "queries")
    parser.add_argument("--store", help="an on-disk store to time the bench cases on")
    parser.add_argument("--curated", action="store_true", help="sweep on ontology/ + data/")
    parser.add_argument("--fixtures", action="store_true", help="sweep on the web test fixtures")
    parser.add_argument("--only", nargs="*", help="only these query names")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120, help="seconds per run before a text is given up")
    args = parser.parse_args(argv)
    wanted = lambda name: (args.only is None or name in args.only) and (args.old / f"{name}.rq").exists()  # noqa: E731
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        datasets = []
        if args.store:
            datasets.append(("store " + args.store, args.store, [c for c in CASES if c[1] != "matrix"], True))
        if args.curated:
            path = curated_store(Path(tmp) / "curated")
            datasets.append(("curated data", path, sweep_cases(path), False))
        if args.fixtures:
            path = fixture_store(Path(tmp) / "fixtures")
            datasets.append(("test fixtures", path, sweep_cases(path), False))
        for title, path, cases, timing in datasets:
            print(f"## {title}")
            if timing:
                print("| query | old ms | new ms | old/new | old CPU ms | new CPU ms | rows | same answer | same row order |\n"
                      "|---|---:|---:|---:|---:|---:|---:|---|---|")
            compared = same = nonempty = 0
            for label, name, values in cases:
                if not wanted(name):
                    continue
                row = check(label, name, values, args.old, args.new, path, args.runs, args.timeout, timing)
                compared += 1
                same += bool(row["same"])
                nonempty += bool(row["rows"])
                if row["same"] is False:
                    failed += 1
                if timing:
                    old = f"{row['old_ms']:,.0f}" if row["old_ms"] is not None else f"> {args.timeout:,.0f} s"
                    new = f"{row['new_ms']:,.0f}" if row["new_ms"] is not None else f"> {args.timeout:,.0f} s"
                    ratio = f"{row['old_ms'] / row['new_ms']:.1f}" if row["old_ms"] and row["new_ms"] else "–"
                    verdict = {True: "yes", False: "**no**", None: "not compared"}[row["same"]]
                    cpu = [f"{row[k]:,.0f}" if row[k] is not None else "–" for k in ("old_cpu", "new_cpu")]
                    order = {True: "yes", False: "no"}.get(row.get("identical_sequence"), "–")
                    print(f"| {label} | {old} | {new} | {ratio} | {cpu[0]} | {cpu[1]} | {row['rows']} | {verdict} | {order} |",
                          flush=True)
                if row["problems"]:
                    print(f"  {label}: " + "; ".join(row["problems"]), flush=True)
            print(f"{compared} cases compared, {same} with the same answer, {nonempty} with rows\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
