"""The research queries (``#+ kind: research`` in src/kg/queries/) with representative parameters.

Used by bench/bench_sparql.py. Each case is a named query and the values a researcher would
type into its form; ``cases()`` returns (label, SPARQL text) with the values bound as a VALUES
block (kg.sparql.bind / bind_rows), exactly as the research pages and the matrix page send them.

    python bench/research_queries.py [STORE]   # print each case; with STORE, time it on pyoxigraph
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kg import named_queries  # noqa: E402
from kg.sparql import bind, bind_rows  # noqa: E402

#: (label, query name, parameter values as a researcher types them). Every research query appears
#: at least once; the matrix twice (its unfiltered page and a filtered one).
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("compare-countries", "compare-countries", {"a": "country:DE", "b": "country:KZ"}),
    ("contradicting-reports", "contradicting-reports", {}),
    ("deportations-despite-closed-borders", "deportations-despite-closed-borders", {}),
    ("detention-sites", "detention-sites", {}),
    ("developments-per-month", "developments-per-month", {}),
    ("figures-by-kind", "figures-by-kind", {"kind": "qk:confirmed-cases"}),
    ("in-force-on", "in-force-on", {"day": "2020-06-15"}),
    ("matrix", "matrix", {}),
    ("matrix-europe-day", "matrix", {"region": "region:150", "day": "2020-05-01"}),
    ("moratoria", "moratoria", {}),
    ("negative-facts", "negative-facts", {}),
    ("releases-without-moratorium", "releases-without-moratorium", {}),
    ("theme-updates", "theme-updates", {"theme": "mt:lack-of-firewall"}),
    ("uncertain-statements", "uncertain-statements", {}),
    ("who-reported-what", "who-reported-what", {}),
    ("who-reported-what-body", "who-reported-what", {"body": "organisation:international-legal-initiative"}),
]


def text_for(name: str, values: dict[str, str]) -> str:
    """The query NAME with VALUES bound as RDF terms (the matrix as its page binds it)."""
    query = named_queries.load(name)
    terms = query.bindings(values)
    if name == "matrix":  # as kg.views.matrix does: one VALUES row (?region ?day ?type), UNDEF where unset
        return bind_rows(query.sparql, ["region", "day", "type"],
                         [[terms.get("region"), terms.get("day"), terms.get("type")]])
    return bind(query.sparql, terms) if terms else query.sparql


def cases() -> list[tuple[str, str]]:
    """(label, bound SPARQL text) for every case; checks that every research query is covered."""
    research = set(named_queries.names("research"))
    covered = {name for _, name, _ in CASES}
    missing = research - covered
    if missing:
        raise SystemExit(f"research queries without a benchmark case: {', '.join(sorted(missing))}")
    return [(label, text_for(name, values)) for label, name, values in CASES]


def main(argv: list[str]) -> int:
    if not argv:
        for label, text in cases():
            print(f"# --- {label}\n{text}\n")
        return 0
    import pyoxigraph

    store = pyoxigraph.Store.read_only(argv[0])
    for label, text in cases():
        started = time.perf_counter()
        rows = sum(1 for _ in store.query(text, use_default_graph_as_union=True))
        print(f"{label:40s} {rows:8d} rows {1000 * (time.perf_counter() - started):9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
