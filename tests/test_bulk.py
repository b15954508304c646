"""kg.bulk.BulkLoader: the result of kg.load.Loader — reports, graphs, provenance — in one pass.

The bulk loader validates with SHACL compiled to SPARQL (kg.shacl_sparql) over a staging store
and writes new graphs in one atomic bulk load, so these tests compare it with the per-file
Loader on the same files: the same store content (graphs and the provenance of every load), the
same reports, the same refusal of a batch with one bad file, the same --keep-going; and a crash
test for its write.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, XSD

from kg.bulk import BulkLoader, _FileInfo, _provenance, _provenance_nquads
from kg.load import LoadRefused, Loader, graph_iri_for
from kg.namespaces import KG
from kg.store import META_GRAPH, EmbeddedStore
from kg.validate import Validator

from conftest import DATA, ROOT, TEST_DATA

LOAD = TEST_DATA / "load"
BULK = TEST_DATA / "bulk"
GOOD = [LOAD / "2020-07-01-testland.ttl", LOAD / "2020-07-02-testland.ttl"]
BAD = LOAD / "bad-status.ttl"
KNOWN = ["https://w3id.org/detention-kg/id/update/2020-06-30-otherland"]


def _synthetic():
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("synthetic", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """40 synthetic updates (with cross-references between them), as bench/synthetic.py writes them."""
    folder = tmp_path_factory.mktemp("synthetic") / "updates"
    _synthetic().generate(40, folder, seed=7)
    return folder


def validator() -> Validator:
    return Validator(known_updates=KNOWN)


def embedded(path: Path) -> EmbeddedStore:
    return EmbeddedStore(path)


# -- comparing two stores ---------------------------------------------------------------------


def data_graphs(store) -> dict[str, Graph]:
    graphs = {}
    for info in store.graphs():
        graph = Graph()
        for triple in store.graph_triples(info.iri):
            graph.add(triple)
        graphs[info.iri] = graph
    return graphs


def provenance(store) -> set[tuple]:
    """The metadata graph with each load activity named by its graph and times blanked out."""
    triples = store.graph_triples(str(META_GRAPH))
    activity_graph = {s: o for s, p, o in triples if str(p).endswith("/def/graph")}

    def norm(term):
        if term in activity_graph:
            return ("load of", str(activity_graph[term]))
        if isinstance(term, Literal) and term.datatype == XSD.dateTime:
            return "TIME"
        return term

    return {(norm(s), p, norm(o)) for s, p, o in triples}


def assert_same_store(a, b):
    ga, gb = data_graphs(a), data_graphs(b)
    assert set(ga) == set(gb)
    for iri in ga:
        assert isomorphic(ga[iri], gb[iri]), iri
    assert provenance(a) == provenance(b)
    assert a.version() == b.version()

    def loads(store):
        return sorted((r.action, r.graph, r.file, r.sha256, r.added, r.removed, r.triples) for r in store.history())

    assert loads(a) == loads(b)


def outcomes(summary):
    return [
        (item.file, item.graph, item.report.status, item.report.triples)
        + ((item.outcome.added, item.outcome.removed, item.outcome.triples, item.outcome.unchanged) if item.outcome else ())
        for item in summary.loads
    ]


# -- the same results as Loader -----------------------------------------------------------------


def test_bulk_load_gives_the_store_and_provenance_of_per_file_loads(tmp_path, corpus):
    sources = [ROOT / "ontology", DATA / "reference", *GOOD, corpus]
    by_file = embedded(tmp_path / "loader")
    expected = Loader(by_file, validator()).load(sources)
    in_bulk = embedded(tmp_path / "bulk")
    summary = BulkLoader(in_bulk, validator()).load(sources)
    assert outcomes(summary) == outcomes(expected)
    assert summary.totals() == expected.totals()
    assert_same_store(in_bulk, by_file)


def test_worker_processes_give_the_same_result(tmp_path, corpus):
    one = embedded(tmp_path / "one")
    two = embedded(tmp_path / "two")
    a = BulkLoader(one, validator(), workers=1).load([*GOOD, corpus])
    b = BulkLoader(two, validator(), workers=2).load([*GOOD, corpus])
    assert outcomes(a) == outcomes(b)
    assert_same_store(one, two)


def test_one_bad_file_means_nothing_is_loaded(tmp_path):
    store = embedded(tmp_path / "store")
    BulkLoader(store, validator()).load([GOOD[0]])
    before = store.dump("nquads")
    with pytest.raises(LoadRefused) as bulk:
        BulkLoader(store, validator()).load([GOOD[1], BAD])
    assert store.dump("nquads") == before
    other = embedded(tmp_path / "other")
    Loader(other, validator()).load([GOOD[0]])
    with pytest.raises(LoadRefused) as per_file:
        Loader(other, validator()).load([GOOD[1], BAD])
    assert bulk.value.message == per_file.value.message
    assert bulk.value.hint == per_file.value.hint
    assert f"{BAD}:22:" in bulk.value.message


def test_keep_going_loads_the_files_that_conform(tmp_path):
    files = [*GOOD, BAD, BULK / "two-updates.ttl", BULK / "bad-syntax.ttl"]
    store = embedded(tmp_path / "bulk")
    summary = BulkLoader(store, validator()).load(files, keep_going=True)
    expected = Loader(embedded(tmp_path / "loader"), validator()).load(files, keep_going=True)
    assert outcomes(summary) == outcomes(expected)
    assert summary.totals() == expected.totals() == "2 loaded (+29 -0 triples), 0 unchanged, 3 refused"
    assert {g.iri for g in store.graphs()} == {item.graph for item in summary.loaded}


def _reports_of(loader, files):
    try:
        summary = loader.load(files, keep_going=True)
        return [item.report for item in summary.loads]
    except LoadRefused as refused:  # pragma: no cover - keep_going does not refuse
        return refused.reports


VIOLATING = sorted(
    [*(TEST_DATA / "shapes").glob("*/violates*.ttl"), BAD, *BULK.glob("edge-*.ttl"), BULK / "blank-nodes.ttl",
     BULK / "two-updates.ttl", BULK / "bad-syntax.ttl"]
)


@pytest.mark.parametrize("path", VIOLATING, ids=lambda p: str(p.relative_to(ROOT)))
def test_reports_are_the_validators(tmp_path, path):
    """Every Problem — line, column, message, resource, label, property, value, constraint, shape."""
    expected = Validator(known_updates=KNOWN).validate_file(path)
    [report] = _reports_of(BulkLoader(embedded(tmp_path / "store"), validator()), [path])
    assert report.status == expected.status
    assert report.triples == expected.triples
    assert _comparable_problems(report) == _comparable_problems(expected)
    assert [(p.line, p.focus, p.path) for p in report.problems] == [(p.line, p.focus, p.path) for p in expected.problems]
    assert report.problems


def _comparable_problems(report) -> list[dict]:
    """The problems in a stable order (pyshacl's order breaks ties), blank-node ids left out."""
    problems = []
    for problem in report.problems:
        fields = asdict(problem)
        if fields["value"] is not None and re.fullmatch(r"[A-Za-z]?[0-9a-f]{16,}", fields["value"]):
            fields["value"] = "_:blank"
        problems.append(fields)
    return sorted(problems, key=lambda d: [str(v) for v in d.values()])


def test_an_unchanged_reload_changes_nothing_and_an_edit_is_a_diff(tmp_path):
    copy = tmp_path / "2020-07-01-testland.ttl"
    shutil.copy(GOOD[0], copy)
    store = embedded(tmp_path / "store")
    BulkLoader(store, validator()).load([copy, GOOD[1]])
    version = store.version()
    again = BulkLoader(store, validator()).load([copy, GOOD[1]])
    assert again.totals() == "0 loaded (+0 -0 triples), 2 unchanged"
    assert store.version() == version
    copy.write_text(copy.read_text().replace('"2020-04-01"', '"2020-04-02"'))
    edited = BulkLoader(store, validator()).load([copy, GOOD[1]])
    assert [(i.outcome.added, i.outcome.removed, i.outcome.unchanged) for i in edited.loads] == [(1, 1, False), (0, 0, True)]
    graph = "https://w3id.org/detention-kg/id/graph/update/2020-07-01-testland"
    assert [(r.added, r.removed) for r in store.history(graph)] == [(13, 0), (1, 1)]
    assert store.version() == version + 1


def test_cross_references_may_point_at_updates_already_in_the_store(tmp_path):
    store = embedded(tmp_path / "store")
    BulkLoader(store, Validator(known_updates=[])).load([GOOD[0]])
    BulkLoader(store, Validator(known_updates=[])).load([GOOD[1]])  # its target is only in the store
    assert len(store.graphs()) == 2


def test_a_small_batch_looks_up_only_the_updates_it_mentions(tmp_path, corpus):
    store = embedded(tmp_path / "store")
    files = sorted(corpus.glob("*.ttl"))
    BulkLoader(store, Validator(known_updates=[])).load(files[:30])
    summary = BulkLoader(store, Validator(known_updates=[])).load(files[30:])  # cross-references into the store
    assert len(summary.loaded) == 10
    dangling = tmp_path / "dangling.ttl"
    dangling.write_text(files[35].read_text().replace("kg:target update:", "kg:target update:2019-01-01-nowhere-"))
    with pytest.raises(LoadRefused, match="points at an update the knowledge graph does not have"):
        BulkLoader(store, Validator(known_updates=[])).load([dangling])


def test_a_graph_iri_that_cannot_be_written_stops_the_load_before_any_write(tmp_path):
    from kg.store import StoreError

    folder = tmp_path / "odd folder"
    folder.mkdir()
    ontology = folder / "my ontology.ttl"  # no update in it: the graph is named after folder and file
    ontology.write_text("@prefix ex: <http://example.org/> . ex:a ex:b ex:c .")
    store = embedded(tmp_path / "store")
    with pytest.raises(StoreError, match="not a valid graph IRI"):
        BulkLoader(store, validator()).load([GOOD[0], ontology])
    assert store.graphs() == []


def test_two_files_describing_one_update_are_refused(tmp_path):
    twin = tmp_path / "twin.ttl"
    shutil.copy(GOOD[0], twin)
    with pytest.raises(LoadRefused, match="both describe"):
        BulkLoader(embedded(tmp_path / "store"), validator()).load([GOOD[0], twin])


def test_a_sparql_server_gets_the_same_content(oxigraph_url, tmp_path, corpus):
    from kg.store import RemoteStore

    remote = RemoteStore(f"{oxigraph_url}/query", f"{oxigraph_url}/update")
    remote._update("DROP ALL")
    BulkLoader(remote, validator(), batch_size=15).load([*GOOD, corpus])
    local = embedded(tmp_path / "store")
    BulkLoader(local, validator()).load([*GOOD, corpus])
    assert_same_store(remote, local)
    again = BulkLoader(remote, validator(), batch_size=15).load([*GOOD, corpus])
    assert all(item.outcome.unchanged for item in again.loads)


def test_provenance_written_as_text_is_replace_graphs(tmp_path):
    info = _FileInfo(0, Path("x.ttl"), None, staged=True, sha256="ab" * 32, label='dir/a "quoted" name.ttl',
                     graph="https://w3id.org/detention-kg/id/graph/update/x", triples=13)
    activity, text = _provenance_nquads(info, added=12, removed=3)
    parsed = Graph()
    parsed.parse(data=text.replace(f" <{META_GRAPH}> .", " ."), format="nt")
    _, triples = _provenance(info, added=12, removed=3)

    def norm(graph_triples, act):
        return {
            tuple("A" if t == URIRef(act) else "T" if isinstance(t, Literal) and t.datatype == XSD.dateTime else t for t in tr)
            for tr in graph_triples
        }

    other_activity = next(str(s) for s, p, o in triples if str(p).endswith("/def/graph"))
    assert norm(parsed, activity) == norm(triples, other_activity)


# -- nothing lost: SIGKILL during the write ------------------------------------------------------

DRIVER = """
import sys
import kg.bulk
from kg.bulk import BulkLoader
from kg.store import EmbeddedStore
from kg.validate import Validator
if __name__ == "__main__":
    kg.bulk.BULK_FROM = 0  # new graphs through Oxigraph's bulk loader, however few
    store = EmbeddedStore(sys.argv[1])
    loader = BulkLoader(store, Validator(known_updates=[]), workers=1, batch_size=25)
    print("validating", flush=True)
    loader.load([sys.argv[2]])
    print("done", flush=True)
"""

CRASH_FILES, NEW_FILES, CRASH_TRIALS = 300, 100, 10


def _start(driver: Path, store_dir: Path, source: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, str(driver), str(store_dir), str(source)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def _graphs_of(folder: Path) -> dict[str, tuple[set, str]]:
    found = {}
    for path in folder.glob("*.ttl"):
        graph = Graph().parse(path, format="turtle")
        updates = [str(u) for u in graph.subjects(RDF.type, KG.Update)]
        found[graph_iri_for(path, updates)] = (set(graph), hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def test_sigkill_during_a_bulk_load_never_leaves_half_a_graph(tmp_path):
    """New graphs go in one atomic bulk load, replaced ones in batched updates: kill either."""
    synthetic = _synthetic()
    a, b = tmp_path / "A", tmp_path / "B"
    synthetic.generate(CRASH_FILES, a, seed=1)
    synthetic.generate(CRASH_FILES + NEW_FILES, b, seed=1)  # version B: 100 new updates…
    for path in sorted(b.glob("*.ttl"))[:CRASH_FILES:2]:  # …and half the old ones edited
        path.write_text(path.read_text().replace("(synthetic ", "(edited synthetic "))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    base = tmp_path / "base"
    store = EmbeddedStore(base)
    BulkLoader(store, Validator(known_updates=[]), workers=1).load([a])
    store.close()
    versions = {"A": _graphs_of(a), "B": _graphs_of(b)}
    edited = {g for g in versions["A"] if versions["A"][g] != versions["B"][g]}
    new = set(versions["B"]) - set(versions["A"])
    assert len(edited) == CRASH_FILES // 2 and len(new) == NEW_FILES

    # how long an uninterrupted load takes, to spread the kills over it
    calibration = tmp_path / "calibration"
    shutil.copytree(base, calibration)
    started = time.monotonic()
    process = _start(driver, calibration, b)
    assert process.stdout.read().split() == ["validating", "done"]
    duration = time.monotonic() - started

    rng = random.Random(20261126)
    seen = []
    for trial in range(CRASH_TRIALS):
        store_dir = tmp_path / f"trial-{trial}"
        shutil.copytree(base, store_dir)
        process = _start(driver, store_dir, b)
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        store = EmbeddedStore(store_dir)  # must reopen
        try:
            count = {"A": 0, "B": 0, "new": 0}
            for graph in set(versions["A"]) | new:
                content, info = store.graph_triples(graph), store.graph_info(graph)
                if graph in new and not content:
                    assert info is None, f"{graph}: provenance without its graph"
                    continue
                matches = [v for v in "AB" if graph in versions[v] and content == versions[v][graph][0]]
                assert matches, f"{graph} is neither version A nor version B ({len(content)} triples)"
                assert info is not None and info.sha256 in {versions[v][graph][1] for v in matches}, graph
                if graph in new:
                    count["new"] += 1
                elif graph in edited:
                    count[matches[0]] += 1
            assert count["new"] in (0, NEW_FILES), f"the new graphs are written together: {count}"
            seen.append(count)
        finally:
            store.close()
        shutil.rmtree(store_dir)
    assert len({(c["new"], c["B"]) for c in seen}) >= 2, f"the kills all landed at one point: {seen}"
    print("outcomes of the kills (new graphs written, edited graphs at A and at B):", seen)


def test_what_the_staging_parser_accepts_but_the_validator_refuses_is_refused(tmp_path):
    """Empty files, bytes that are not UTF-8 and brackets nested too deep parse in pyoxigraph but
    fail `kg validate`: the bulk path refuses them with the validator's own messages."""
    empty = tmp_path / "empty.ttl"
    empty.write_text("# nothing here yet\n")
    latin = tmp_path / "latin.ttl"
    latin.write_bytes(GOOD[0].read_bytes() + b"\n# caf\xe9\n")
    deep = tmp_path / "deep.ttl"
    deep.write_text("@prefix ex: <http://example.org/> .\nex:a ex:p " + "[ ex:p " * 150 + "ex:b" + " ]" * 150 + " .\n")
    store = embedded(tmp_path / "store")
    with pytest.raises(LoadRefused) as refused:
        BulkLoader(store, validator()).load([GOOD[1], empty, latin, deep])
    text = refused.value.message
    assert "holds no statements" in text and "not UTF-8" in text and "nest more than" in text
    assert store.graphs() == []
