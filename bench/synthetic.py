"""A synthetic corpus of GDP-style updates, valid against shapes/, for the load benchmarks.

    python bench/synthetic.py N OUTDIR [--seed S] [--start K] [--dataset FILE.nq|FILE.trig]

writes OUTDIR/update-NNNNNNN.ttl … one Turtle file per update (numbers K … K+N-1), shaped like
data/updates/*.ttl: an update (title, date, country, web page, publisher, reporting body,
sometimes a summary) with a cross-reference to an earlier synthetic update and its theme, one
measure or incident (type and status from ontology/vocabularies.ttl, place, according to a body
of data/reference/agents.ttl, channel, sometimes dates), one figure (a value or bounds), one
migrant group, and now and then a place shared with other updates of the same country. About 33
triples each. Update n is the same whatever N and K are (its random stream is seeded by the
seed and n), so a corpus of 1k is the first 1k files of a corpus of 100k, and ``--start`` makes
new updates that point at the ones already generated.

With ``--dataset`` it also writes every file as one N-Quads (``.nq``) or TriG (``.trig``)
file, each update in the named graph ``kg load`` gives it (for ``oxigraph load``). The quads
are what pyoxigraph parses from the Turtle files, so both hold exactly the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyoxigraph

ROOT = Path(__file__).resolve().parents[1]
KG = "https://w3id.org/detention-kg/def/"
ID = "https://w3id.org/detention-kg/id/"
GRAPH_BASE = ID + "graph/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"

PREFIXES = """\
@prefix kg:      <https://w3id.org/detention-kg/def/> .
@prefix update:  <https://w3id.org/detention-kg/id/update/> .
@prefix measure: <https://w3id.org/detention-kg/id/measure/> .
@prefix incident: <https://w3id.org/detention-kg/id/incident/> .
@prefix figure:  <https://w3id.org/detention-kg/id/figure/> .
@prefix group:   <https://w3id.org/detention-kg/id/group/> .
@prefix place:   <https://w3id.org/detention-kg/id/place/> .
@prefix country: <https://w3id.org/detention-kg/id/country/> .
@prefix organisation: <https://w3id.org/detention-kg/id/organisation/> .
@prefix authority: <https://w3id.org/detention-kg/id/authority/> .
@prefix xref:    <https://w3id.org/detention-kg/id/xref/> .
@prefix mt:      <https://w3id.org/detention-kg/def/measure-type/> .
@prefix st:      <https://w3id.org/detention-kg/def/status/> .
@prefix ch:      <https://w3id.org/detention-kg/def/channel/> .
@prefix pt:      <https://w3id.org/detention-kg/def/place-type/> .
@prefix gt:      <https://w3id.org/detention-kg/def/group-type/> .
@prefix qk:      <https://w3id.org/detention-kg/def/quantity-kind/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema:  <https://schema.org/> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
"""

#: Prefixed names for the vocabulary namespaces used in the files.
_SHORT = {
    KG + "measure-type/": "mt:", KG + "status/": "st:", KG + "channel/": "ch:", KG + "place-type/": "pt:",
    KG + "group-type/": "gt:", KG + "quantity-kind/": "qk:", ID + "country/": "country:",
    ID + "organisation/": "organisation:", ID + "authority/": "authority:",
}
_NEGATIVE = {"not-introduced", "none-occurred", "not-granted", "not-reported"}
_START = dt.date(2020, 3, 1)


@dataclass(frozen=True)
class Vocabulary:
    """The terms a synthetic update may use, read from the ontology and the reference data."""

    countries: tuple[tuple[str, str, str], ...]  # (IRI, code, English name)
    agents: tuple[str, ...]
    measure_types: tuple[str, ...]
    statuses: tuple[str, ...]
    channels: tuple[str, ...]
    group_types: tuple[str, ...]
    quantity_kinds: tuple[str, ...]


def _instances(store: pyoxigraph.Store, cls: str) -> tuple[str, ...]:
    rows = store.query(f"SELECT ?s WHERE {{ ?s a <{cls}> }} ORDER BY ?s")
    return tuple(row["s"].value for row in rows)


@lru_cache(maxsize=None)
def vocabulary(root: Path = ROOT) -> Vocabulary:
    store = pyoxigraph.Store()
    for path in [*sorted((root / "ontology").glob("*.ttl")), *sorted((root / "data" / "reference").glob("*.ttl"))]:
        store.load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE)
    rows = store.query(
        f"SELECT ?c ?code ?name WHERE {{ ?c a <{KG}Country> ; <{KG}iso3166Alpha2> ?code ; <{RDFS_LABEL}> ?name }}"
        " ORDER BY ?code"
    )
    countries = tuple((r["c"].value, r["code"].value, r["name"].value) for r in rows)
    agents = tuple(a for a in _instances(store, KG + "Organisation") + _instances(store, KG + "Authority"))
    return Vocabulary(
        countries=countries,
        agents=tuple(sorted(agents)),
        measure_types=_instances(store, KG + "MeasureType"),
        statuses=_instances(store, KG + "Status"),
        channels=_instances(store, KG + "ReportingChannel"),
        group_types=_instances(store, KG + "GroupType"),
        quantity_kinds=_instances(store, KG + "QuantityKind"),
    )


def _short(iri: str) -> str:
    for namespace, prefix in _SHORT.items():
        if iri.startswith(namespace):
            return prefix + iri[len(namespace) :]
    return f"<{iri}>"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _local(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def update_slug(n: int, seed: int = 0, vocab: Vocabulary | None = None) -> str:
    """The slug of synthetic update number N (update:SLUG), without generating it."""
    vocab = vocab or vocabulary()
    rng = random.Random(f"{seed}:{n}")
    date = _START + dt.timedelta(days=rng.randrange(700))
    _, _, name = vocab.countries[rng.randrange(len(vocab.countries))]
    return f"{date.isoformat()}-{_slug(name)[:40].strip('-')}-{n:07d}"


def update_text(n: int, seed: int = 0, vocab: Vocabulary | None = None) -> str:
    """The Turtle text of synthetic update number N."""
    vocab = vocab or vocabulary()
    rng = random.Random(f"{seed}:{n}")
    date = _START + dt.timedelta(days=rng.randrange(700))
    country, code, name = vocab.countries[rng.randrange(len(vocab.countries))]
    slug = f"{date.isoformat()}-{_slug(name)[:40].strip('-')}-{n:07d}"
    cc = code.lower()
    pick = rng.choice
    esc = name.replace("\\", "\\\\").replace('"', '\\"')
    lines = [PREFIXES]

    # -- the update
    target = update_slug(rng.randrange(n), seed, vocab) if n > 0 else None
    theme = pick(vocab.measure_types)
    update = [
        f"update:{slug} a kg:Update ;",
        f'    dcterms:title "{esc}, {date.day} {date:%B} {date.year} (synthetic {n})"@en ;',
        f'    dcterms:issued "{date.isoformat()}"^^xsd:date ;',
        f"    kg:country {_short(country)} ;",
        f"    dcterms:source <https://www.globaldetentionproject.org/synthetic/{slug}> ;",
        "    dcterms:publisher organisation:global-detention-project ;",
        f"    kg:reportingBody {_short(pick(vocab.agents))} ;",
    ]
    if rng.random() < 0.15:
        update.append(f'    dcterms:abstract "Synthetic update number {n} about {esc}."@en ;')
    if target is not None:
        update.append(f"    kg:crossReference xref:{slug}-to-{target} ;")
        update.append(f"    dcterms:references update:{target} ;")
    lines.append("\n".join(update)[:-2] + " .\n")
    if target is not None:
        lines.append(
            f"xref:{slug}-to-{target} a kg:CrossReference ;\n"
            f"    kg:target update:{target} ;\n"
            f"    kg:theme {_short(theme)} .\n"
        )

    # -- a place shared by the updates of one country, now and then
    place = None
    if rng.random() < 0.2:
        k = rng.randrange(5)
        place = f"place:{cc}-city-{k}"
        lines.append(
            f"{place} a kg:Place ;\n"
            f'    rdfs:label "City {k} of {esc}"@en ;\n'
            f"    kg:placeType pt:city ;\n"
            f"    kg:country {_short(country)} .\n"
        )

    # -- a migrant group, a figure and a measure or incident
    group = f"group:{slug}-migrants"
    lines.append(
        f"{group} a kg:MigrantGroup ;\n"
        f'    rdfs:label "Migrants in {esc} ({n})"@en ;\n'
        f"    kg:reportedIn update:{slug} ;\n"
        f"    kg:groupType {_short(pick(vocab.group_types))} ;\n"
        f"    kg:locatedIn {place or _short(country)} .\n"
    )
    figure = f"figure:{slug}-count"
    if rng.random() < 0.7:
        value = f"    schema:value {rng.randrange(100000)} ;\n"
    else:
        low = rng.randrange(1000)
        value = f"    schema:minValue {low} ;\n    schema:maxValue {low + rng.randrange(1, 1000)}.5 ;\n"
    lines.append(
        f"{figure} a kg:Figure ;\n"
        f'    rdfs:label "a synthetic figure ({n})"@en ;\n'
        f"    kg:reportedIn update:{slug} ;\n"
        f"{value}"
        f'    kg:counts "people counted in synthetic update {n}"@en ;\n'
        f"    kg:quantityKind {_short(pick(vocab.quantity_kinds))}"
        + (f" ;\n    kg:place {_short(country)} .\n" if rng.random() < 0.5 else " .\n")
    )
    kind = "incident" if rng.random() < 0.25 else "measure"
    status = pick(vocab.statuses)
    measure = [
        f"{kind}:{slug}-{_local(theme)} a kg:{kind.title()} ;",
        f'    rdfs:label "{_local(theme).replace("-", " ").capitalize()} ({n})"@en ;',
        f"    kg:reportedIn update:{slug} ;",
        f"    kg:measureType {_short(theme)} ;",
        f"    kg:status {_short(status)} ;",
        f"    kg:place {place or _short(country)} ;",
        f"    kg:affects {group} ;" if _local(status) not in _NEGATIVE else f"    kg:relatedFigure {figure} ;",
        f"    kg:accordingTo {_short(pick(vocab.agents))} ;",
    ]
    if rng.random() < 0.6:
        measure.append(f"    kg:reportedVia {_short(pick(vocab.channels))} ;")
    if rng.random() < 0.3:
        begin = date - dt.timedelta(days=rng.randrange(60))
        measure.append(f'    kg:beginDate "{begin.isoformat()}"^^xsd:date ;')
        if rng.random() < 0.5:
            end = begin + dt.timedelta(days=rng.randrange(120))
            measure.append(f'    kg:plannedEndDate "{end.isoformat()}"^^xsd:date ;')
    lines.append("\n".join(measure)[:-2] + " .\n")
    return "\n".join(lines)


def file_name(n: int) -> str:
    return f"update-{n:07d}.ttl"


def generate(n_files: int, outdir: str | Path, *, seed: int = 0, start: int = 0, dataset: str | Path | None = None) -> list[Path]:
    """Write N_FILES updates into OUTDIR (and, with DATASET, all of them as one N-Quads/TriG file)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary()
    paths = []
    sink = None
    if dataset is not None:
        dataset = Path(dataset)
        dataset.parent.mkdir(parents=True, exist_ok=True)
        fmt = pyoxigraph.RdfFormat.TRIG if dataset.suffix == ".trig" else pyoxigraph.RdfFormat.N_QUADS
        sink = dataset.open("wb")
    try:
        for n in range(start, start + n_files):
            text = update_text(n, seed, vocab)
            path = outdir / file_name(n)
            path.write_text(text, encoding="utf-8")
            paths.append(path)
            if sink is not None:
                graph = pyoxigraph.NamedNode(GRAPH_BASE + "update/" + update_slug(n, seed, vocab))
                quads = [
                    pyoxigraph.Quad(t.subject, t.predicate, t.object, graph)
                    for t in pyoxigraph.parse(text.encode(), format=pyoxigraph.RdfFormat.TURTLE)
                ]
                sink.write(pyoxigraph.serialize(quads, format=fmt))
    finally:
        if sink is not None:
            sink.close()
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of updates")
    parser.add_argument("outdir", help="folder for the Turtle files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="number of the first update (default 0)")
    parser.add_argument("--dataset", help="also write all updates as one .nq (N-Quads) or .trig file")
    args = parser.parse_args(argv)
    paths = generate(args.n, args.outdir, seed=args.seed, start=args.start, dataset=args.dataset)
    print(f"wrote {len(paths)} updates to {args.outdir}" + (f" and {args.dataset}" if args.dataset else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
