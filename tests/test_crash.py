"""Nothing lost: a bulk load killed with SIGKILL leaves every graph wholly old or wholly new.

A subprocess loads version B of many update files over a store that holds version A. It is
killed at random points of its write phase (20+ trials, fixed seed); then the store must
reopen, and every update graph must equal version A or version B exactly, with provenance
that names the same version.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import Graph

from kg.load import Loader, graph_iri_for
from kg.store import EmbeddedStore
from kg.validate import Validator

from conftest import ROOT

FILES = 60
TRIALS = 21

TEMPLATE = """\
@prefix kg: <https://w3id.org/detention-kg/def/> .
@prefix mt: <https://w3id.org/detention-kg/def/measure-type/> .
@prefix st: <https://w3id.org/detention-kg/def/status/> .
@prefix update: <https://w3id.org/detention-kg/id/update/> .
@prefix measure: <https://w3id.org/detention-kg/id/measure/> .
@prefix country: <https://w3id.org/detention-kg/id/country/> .
@prefix organisation: <https://w3id.org/detention-kg/id/organisation/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

update:{slug} a kg:Update ;
    dcterms:title "Crashland {n}, version {version}"@en ;
    dcterms:issued "2020-07-01"^^xsd:date ;
    kg:country country:KZ ;
    dcterms:publisher organisation:global-detention-project ;
    dcterms:source <https://example.org/{slug}> .

measure:{slug}-m a kg:Measure ;
    rdfs:label "Measure of version {version}"@en ;
    kg:reportedIn update:{slug} ;
    kg:measureType mt:{type} ;
    kg:status st:{status} ;
    kg:accordingTo organisation:international-legal-initiative .
"""

DRIVER = """
import sys
from kg.load import Loader
from kg.store import EmbeddedStore
from kg.validate import Validator
store = EmbeddedStore(sys.argv[1])
loader = Loader(store, Validator(known_updates=[]))
def progress(item):
    print("wrote", flush=True)
loader.load([sys.argv[2]], progress=progress)
print("done", flush=True)
"""


def write_version(folder: Path, version: str) -> dict[str, Path]:
    folder.mkdir(parents=True)
    files = {}
    for n in range(FILES):
        slug = f"2020-07-01-crashland-{n:03d}"
        kind = ("moratorium-on-detention-orders", "introduced") if version == "A" else ("release-of-detainees", "none-occurred")
        path = folder / f"{slug}.ttl"
        path.write_text(TEMPLATE.format(slug=slug, n=n, version=version, type=kind[0], status=kind[1]))
        files[slug] = path
    return files


def triples_of(path: Path) -> set:
    return set(Graph().parse(path, format="turtle"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    versions = {"A": write_version(root / "A", "A"), "B": write_version(root / "B", "B")}
    base = root / "base-store"
    store = EmbeddedStore(base)
    Loader(store, Validator(known_updates=[])).load([root / "A"])
    store.close()
    expected = {
        slug: {
            v: (triples_of(versions[v][slug]), hashlib.sha256(versions[v][slug].read_bytes()).hexdigest())
            for v in "AB"
        }
        for slug in versions["A"]
    }
    return root, base, expected


def start_load(store_dir: Path, source: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(store_dir), str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )


def check_store(store_dir: Path, expected) -> dict[str, int]:
    """Every graph wholly A or wholly B, with matching provenance; returns how many of each."""
    store = EmbeddedStore(store_dir)  # must reopen after SIGKILL
    try:
        seen = {"A": 0, "B": 0}
        for slug, versions in expected.items():
            graph = graph_iri_for(Path(slug + ".ttl"), [f"https://w3id.org/detention-kg/id/update/{slug}"])
            content = store.graph_triples(graph)
            matches = [v for v, (triples, _) in versions.items() if content == triples]
            assert len(matches) == 1, f"{graph} is neither version A nor version B ({len(content)} triples)"
            version = matches[0]
            info = store.graph_info(graph)
            assert info is not None and info.sha256 == versions[version][1], f"provenance of {graph} disagrees"
            seen[version] += 1
        assert store.version() == FILES + seen["B"], "the version must count every completed write"
        return seen
    finally:
        store.close()


def test_sigkill_during_bulk_load_never_leaves_half_a_graph(prepared):
    root, base, expected = prepared
    # Calibrate: how long does the write phase take when nothing interrupts it?
    calibration = root / "calibration"
    shutil.copytree(base, calibration)
    process = start_load(calibration, root / "B")
    assert process.stdout.readline().strip() == "wrote"
    started = time.monotonic()
    lines = process.stdout.read().split()
    process.wait(timeout=120)
    write_phase = time.monotonic() - started
    assert lines[-1] == "done" and check_store(calibration, expected) == {"A": 0, "B": FILES}

    rng = random.Random(20261126)
    outcomes = []
    for trial in range(TRIALS):
        store_dir = root / f"trial-{trial}"
        shutil.copytree(base, store_dir)
        process = start_load(store_dir, root / "B")
        if trial % 7 == 6:  # some kills land anywhere, validation phase included
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            assert process.stdout.readline().strip() == "wrote"
            time.sleep(rng.uniform(0.0, write_phase))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        outcomes.append(check_store(store_dir, expected))
        shutil.rmtree(store_dir)
    partial = [o for o in outcomes if o["A"] and o["B"]]
    assert len(partial) >= TRIALS // 4, f"too few kills landed mid-load to test anything: {outcomes}"
