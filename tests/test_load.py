"""`kg load` and friends: validation-gated, all-or-nothing loads with provenance, on both stores."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.load import LoadRefused, Loader, graph_iri_for
from kg.validate import Validator

from conftest import ROOT, TEST_DATA

LOAD_DATA = TEST_DATA / "load"
GOOD = [LOAD_DATA / "2020-07-01-testland.ttl", LOAD_DATA / "2020-07-02-testland.ttl"]
BAD = LOAD_DATA / "bad-status.ttl"
GRAPH_1 = "https://w3id.org/detention-kg/id/graph/update/2020-07-01-testland"
GRAPH_2 = "https://w3id.org/detention-kg/id/graph/update/2020-07-02-testland"


@pytest.fixture
def loader(store):
    return Loader(store, Validator(known_updates=[]))


def fingerprint(store) -> str:
    """A hash of everything the store holds (graphs and provenance)."""
    return hashlib.sha256(store.dump("nquads")).hexdigest()


def sorted_nquads(store) -> list[str]:
    return sorted(store.dump("nquads").decode().splitlines())


def test_each_file_goes_into_the_graph_named_after_its_update(loader, store):
    summary = loader.load(GOOD)
    assert [item.graph for item in summary.loads] == [GRAPH_1, GRAPH_2]
    assert {g.iri for g in store.graphs()} == {GRAPH_1, GRAPH_2}
    assert [f.summary().split(": ")[1] for f in summary.loads] == [
        f"+13 -0 (13 triples in <{GRAPH_1}>)",
        f"+16 -0 (16 triples in <{GRAPH_2}>)",
    ]


def test_reloading_unchanged_files_changes_nothing_and_says_so(loader, store):
    loader.load(GOOD)
    version = store.version()
    summary = loader.load(GOOD)
    assert all(item.outcome.unchanged for item in summary.loads)
    assert summary.totals() == "0 loaded (+0 -0 triples), 2 unchanged"
    assert store.version() == version


def test_an_edited_file_replaces_its_graph_and_the_diff_is_recorded(loader, store, tmp_path):
    copy = tmp_path / "2020-07-01-testland.ttl"
    shutil.copy(GOOD[0], copy)
    loader.load([copy])
    copy.write_text(copy.read_text().replace('"2020-04-01"', '"2020-04-02"'))
    summary = loader.load([copy])
    assert (summary.loads[0].outcome.added, summary.loads[0].outcome.removed) == (1, 1)
    assert [(r.added, r.removed) for r in store.history(GRAPH_1)] == [(13, 0), (1, 1)]


def test_one_bad_file_means_nothing_is_loaded(loader, store, tmp_path):
    loader.load([GOOD[0]])
    before = fingerprint(store)
    with pytest.raises(LoadRefused) as refused:
        loader.load([GOOD[1], BAD])
    assert "nothing was loaded: 1 of 2 file(s) failed validation" in refused.value.message
    assert f"{BAD}:22:" in refused.value.message
    assert fingerprint(store) == before


def test_keep_going_loads_the_files_that_conform(loader, store):
    summary = loader.load([*GOOD, BAD], keep_going=True)
    assert {g.iri for g in store.graphs()} == {GRAPH_1, GRAPH_2}
    assert [item.file for item in summary.failed] == [str(BAD)]
    assert summary.totals() == "2 loaded (+29 -0 triples), 0 unchanged, 1 refused"


def test_cross_references_may_point_at_updates_already_in_the_store(store):
    Loader(store, Validator(known_updates=[])).load([GOOD[0]])
    Loader(store, Validator(known_updates=[])).load([GOOD[1]])  # its target is only in the store
    assert {g.iri for g in store.graphs()} == {GRAPH_1, GRAPH_2}


def test_two_files_describing_one_update_are_refused(loader, tmp_path):
    twin = tmp_path / "twin.ttl"
    shutil.copy(GOOD[0], twin)
    with pytest.raises(LoadRefused, match="both describe"):
        loader.load([GOOD[0], twin])


def test_graph_names_for_files_without_an_update(tmp_path):
    assert graph_iri_for(tmp_path / "reference" / "countries.ttl", []) == (
        "https://w3id.org/detention-kg/id/graph/reference/countries"
    )


# -- the commands, on the embedded store and on `oxigraph serve` -----------------------------


@pytest.fixture(params=["embedded", "remote", "virtuoso"])
def store_args(request, tmp_path, monkeypatch):
    if request.param == "embedded":
        return ["--store", str(tmp_path / "store")]
    if request.param == "virtuoso":
        server = request.getfixturevalue("virtuoso")
        server.clear()
        monkeypatch.setenv("KG_SPARQL_USER", server.user)
        monkeypatch.setenv("KG_SPARQL_PASSWORD", server.password)
        return ["--sparql-query", server.query_url, "--sparql-update", server.update_url]
    base = request.getfixturevalue("oxigraph_url")
    from kg.store import RemoteStore

    RemoteStore(f"{base}/query", f"{base}/update")._update("DROP ALL")
    return ["--sparql-query", f"{base}/query", "--sparql-update", f"{base}/update"]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_commands_load_list_query_export_history_unload(store_args, tmp_path):
    context = run("load", ROOT / "ontology", ROOT / "data" / "reference", *store_args)
    assert context.exit_code == 0, context.output
    loaded = run("load", *GOOD, *store_args)
    assert loaded.exit_code == 0, loaded.output
    assert "2 loaded (+29 -0 triples), 0 unchanged" in loaded.output

    again = run("load", *GOOD, *store_args)
    assert "unchanged (13 triples" in again.output and again.exit_code == 0

    listing = run("graphs", *store_args)
    assert GRAPH_1 in listing.output and "2020-07-01-testland.ttl" in listing.output
    context_files = len(list((ROOT / "ontology").glob("*.ttl"))) + len(list((ROOT / "data" / "reference").glob("*.ttl")))
    graphs = context_files + 2
    assert f"{graphs} graph(s), store version {graphs}" in listing.output

    table = run("query", "updates", "--param", "country=country:KZ", *store_args)
    assert "Testland, 2 July 2020" in table.output and "(2 rows)" in table.output

    csv_out = run("query", "measures", "-p", "type=mt:release-of-detainees", "--format", "csv", *store_args)
    assert csv_out.output.splitlines()[0].startswith("development,label,country")
    assert len(csv_out.output.strip().splitlines()) == 2

    exported = tmp_path / "dump.nq"
    assert run("export", "--format", "nquads", "-o", exported, *store_args).exit_code == 0
    assert GRAPH_2 in exported.read_text()

    assert run("unload", "update:2020-07-02-testland", *store_args).exit_code == 0
    history = run("history", "2020-07-02-testland", *store_args)
    assert [line.split()[1] for line in history.output.splitlines()] == ["load", "unload"]


def test_load_refusal_exits_1_and_names_the_line(store_args):
    result = run("load", *GOOD, BAD, *store_args)
    assert result.exit_code == 1
    assert f"{BAD}:22:" in result.output and "nothing was loaded" in result.output


def test_unknown_query_and_bad_parameter_are_clear(store_args):
    assert "no query named 'nope'" in run("query", "nope", *store_args).output
    bad = run("query", "updates", "-p", "country=nation:KZ", *store_args)
    assert bad.exit_code == 2 and "unknown prefix 'nation'" in bad.output


# -- faults: nothing changes, and the message is clear ----------------------------------------


def test_a_store_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store folder should be")
    result = run("load", *GOOD, "--store", blocker)
    assert result.exit_code == 2
    assert "error: cannot open the embedded store at" in result.output
    assert blocker.read_text() == "a file where the store folder should be"


def test_a_remote_server_that_is_down():
    from servers import free_port

    url = f"http://127.0.0.1:{free_port()}/query"
    result = run("load", *GOOD, "--sparql-query", url)
    assert result.exit_code == 2
    assert f"error: cannot reach the SPARQL server at {url}" in result.output


def test_a_remote_server_that_answers_500():
    from servers import failing_server

    with failing_server(500) as base:
        result = run("load", *GOOD, "--sparql-query", f"{base}/query")
    assert result.exit_code == 2
    assert f"error: the SPARQL server at {base}/query answered 500 (internal error): internal error" in result.output


def test_a_failed_write_leaves_the_remote_store_as_it_was(oxigraph_url):
    from kg.store import RemoteStore

    store = RemoteStore(f"{oxigraph_url}/query", f"{oxigraph_url}/update")
    store._update("DROP ALL")
    Loader(store, Validator(known_updates=[])).load([GOOD[0]])
    before = sorted_nquads(store)
    with pytest.raises(LoadRefused):
        Loader(store, Validator(known_updates=[])).load([GOOD[1], BAD])
    assert sorted_nquads(store) == before
