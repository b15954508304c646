"""The reference file of countries, generated from maintained packages (never typed by hand).

``build_countries_graph()`` makes one ``kg:Country`` for each of the 249 ISO 3166-1 entries,
and one ``kg:Region`` for each UN M49 region or sub-region they belong to;
``write_countries(path)`` writes it as Turtle, byte for byte the same on every run with the
same package versions (the versions are named in the file's header).

Where each fact comes from:

* **pycountry** (Debian's iso-codes data): the list of countries itself, ``rdfs:label``
  (``name``), ``skos:altLabel`` (``official_name``, ``common_name`` where present and
  different), ``kg:iso3166Alpha2``, ``kg:iso3166Alpha3``, ``kg:iso3166Numeric``.
* **hdx-python-country** (OCHA's Countries & Territories Taxonomy, which carries the UN M49
  standard): ``kg:unRegion`` / ``kg:unSubregion`` and each region's M49 code and English
  name. Only the copy of the taxonomy bundled in the package is read (the package's own
  ``Country`` API would fetch a newer copy from the web by default, which would make the
  output depend on the day it is run). The M49 *sub-region* level is used, so
  sub-Saharan countries are in "Sub-Saharan Africa" (202) and Latin American and
  Caribbean ones in "Latin America and the Caribbean" (419); M49's finer "intermediate
  regions" (Western Africa, Caribbean, ...) are not modelled. M49 codes are written with
  three digits, as the UN publishes them ("002" Africa, "142" Asia). Antarctica has no M49
  region and so has no such triples.
* **rigour** (OpenSanctions' territory data, curated against Wikidata):
  ``owl:sameAs <http://www.wikidata.org/entity/Q...>``, added only where rigour's
  territory for the alpha-2 code has the same alpha-3 code as pycountry's. rigour's QID is
  taken as is: for DK and NL it names the kingdom (Q756617 Danish Realm, Q29999 Kingdom of
  the Netherlands) rather than the European part (Q35, Q55).

country-converter (``coco``) is *not* used: it has UN region *names* but no M49 region
codes, and version 1.3.2 fails to construct with pandas 3 (Namibia's ISO2 "NA" is read as
NaN, then ``re.compile`` fails on it).
"""

from __future__ import annotations

import csv
import importlib
import importlib.metadata
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.errors import KGError
from kg.namespaces import ID, KG, WD, bind_prefixes

#: The packages the file is generated from (distribution names, as pip knows them).
SOURCE_PACKAGES = ("pycountry", "hdx-python-country", "rigour")

_INSTALL_HINT = "install the generator's packages: pip install " + " ".join(SOURCE_PACKAGES)

#: The OCHA taxonomy file bundled in hdx-python-country (module hdx.location).
_HDX_PACKAGE = "hdx.location"
_HDX_FILE = "Countries & Territories Taxonomy MVP - C&T Taxonomy.csv"
_HDX_COLUMNS = (
    "ISO 3166-1 Alpha 2-Codes",
    "ISO 3166-1 Alpha 3-Codes",
    "m49 numerical code",
    "Region Code",
    "Region Name",
    "Sub-region Code",
    "Sub-region Name",
)

_QID = re.compile(r"Q[1-9][0-9]*")
_M49 = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class _Region:
    code: str  # three digits
    name: str


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise KGError(f"the package {name} is needed to generate the reference files", _INSTALL_HINT) from exc


def source_versions() -> dict[str, str]:
    """{distribution: version} of each package the countries file is generated from."""
    return {name: _package_version(name) for name in SOURCE_PACKAGES}


def _import(module: str, distribution: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise KGError(
            f"the package {distribution} is needed to generate the reference files ({exc})", _INSTALL_HINT
        ) from exc


def _hdx_rows() -> list[dict[str, str]]:
    """The rows of the UN M49 / ISO taxonomy bundled in hdx-python-country that have an alpha-2 code."""
    _import(_HDX_PACKAGE, "hdx-python-country")  # only its data file is read: no web access
    resource = importlib.resources.files(_HDX_PACKAGE) / _HDX_FILE
    try:
        with resource.open("r", encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError as exc:
        raise KGError(
            f"hdx-python-country {_package_version('hdx-python-country')} no longer bundles {_HDX_FILE!r}",
            "pin hdx-python-country to a version that has it (4.2.5 does), or update kg.reference",
        ) from exc
    missing = [c for c in _HDX_COLUMNS if not rows or c not in rows[0]]
    if missing:
        raise KGError(f"hdx-python-country's taxonomy lacks the columns {missing}", "update kg.reference")
    rows = [{k: (v or "").strip() for k, v in row.items()} for row in rows]
    return [row for row in rows if row["ISO 3166-1 Alpha 2-Codes"]]


def _m49(value: str, what: str) -> str:
    if not _M49.fullmatch(value):
        raise KGError(f"hdx-python-country gives {what} the M49 code {value!r}, not 1-3 digits")
    return value.zfill(3)


def _un_regions(rows) -> dict[str, tuple[_Region, _Region]]:
    """{alpha-2: (region, sub-region)} from the taxonomy's M49 columns."""
    names: dict[str, str] = {}  # M49 code -> name, checked to be one name per code
    out: dict[str, tuple[_Region, _Region]] = {}
    for row in rows:
        alpha2 = row["ISO 3166-1 Alpha 2-Codes"]
        if not row["Region Code"]:
            continue
        pair = []
        for code_col, name_col in (("Region Code", "Region Name"), ("Sub-region Code", "Sub-region Name")):
            code, name = _m49(row[code_col], alpha2), row[name_col]
            if not name or names.setdefault(code, name) != name:
                raise KGError(f"hdx-python-country names M49 region {code} {names.get(code)!r} and {name!r}")
            pair.append(_Region(code, name))
        out[alpha2] = (pair[0], pair[1])
    return out


def _wikidata_qids(countries) -> dict[str, str]:
    """{alpha-2: QID} from rigour, where its territory has the same alpha-3 code as pycountry's."""
    territories = _import("rigour.territories", "rigour")
    out = {}
    for country in countries:
        territory = territories.get_territory(country.alpha_2.lower())
        if territory is None or (territory.alpha3 or "").upper() != country.alpha_3:
            continue
        if territory.qid and _QID.fullmatch(territory.qid):
            out[country.alpha_2] = territory.qid
    return out


def build_countries_graph() -> Graph:
    """The graph of every ISO 3166-1 country (kg:Country) and its UN M49 regions (kg:Region)."""
    pycountry = _import("pycountry", "pycountry")
    countries = sorted(pycountry.countries, key=lambda c: c.alpha_2)
    hdx_rows = _hdx_rows()
    regions_of = _un_regions(hdx_rows)
    hdx_codes = {
        r["ISO 3166-1 Alpha 2-Codes"]: (r["ISO 3166-1 Alpha 3-Codes"], r["m49 numerical code"].zfill(3))
        for r in hdx_rows
    }
    qids = _wikidata_qids(countries)

    graph = bind_prefixes(Graph())
    regions: dict[str, _Region] = {}
    for country in countries:
        alpha2, alpha3, numeric = country.alpha_2, country.alpha_3, country.numeric.zfill(3)
        if alpha2 in hdx_codes and hdx_codes[alpha2] != (alpha3, numeric):
            raise KGError(
                f"pycountry and hdx-python-country disagree on {alpha2}: "
                f"{(alpha3, numeric)} against {hdx_codes[alpha2]}",
                "check which package is out of date and pin the other",
            )
        iri = ID["country/" + alpha2]
        graph.add((iri, RDF.type, KG.Country))
        graph.add((iri, RDFS.label, Literal(country.name, lang="en")))
        for attr in ("official_name", "common_name"):
            alt = getattr(country, attr, None)
            if alt and alt != country.name:
                graph.add((iri, SKOS.altLabel, Literal(alt, lang="en")))
        graph.add((iri, KG.iso3166Alpha2, Literal(alpha2)))
        graph.add((iri, KG.iso3166Alpha3, Literal(alpha3)))
        graph.add((iri, KG.iso3166Numeric, Literal(numeric)))
        if alpha2 in regions_of:
            region, subregion = regions_of[alpha2]
            graph.add((iri, KG.unRegion, ID["region/" + region.code]))
            graph.add((iri, KG.unSubregion, ID["region/" + subregion.code]))
            regions[region.code] = region
            regions[subregion.code] = subregion
        if alpha2 in qids:
            graph.add((iri, OWL.sameAs, URIRef(WD[qids[alpha2]])))

    for region in regions.values():
        iri = ID["region/" + region.code]
        graph.add((iri, RDF.type, KG.Region))
        graph.add((iri, RDFS.label, Literal(region.name, lang="en")))
        graph.add((iri, KG.m49Code, Literal(region.code)))
    return graph


def countries_header(versions: dict[str, str] | None = None) -> str:
    """The comment block at the top of the countries file, naming the package versions."""
    versions = source_versions() if versions is None else versions
    made_from = ", ".join(f"{name} {version}" for name, version in versions.items())
    return (
        "# GENERATED FILE: do not edit by hand. Regenerate with `kg reference`.\n"
        f"# Generated by `kg reference` (kg.reference.write_countries) from the packages {made_from}.\n"
        "# Countries and codes: pycountry (ISO 3166-1); UN M49 regions: hdx-python-country;\n"
        "# Wikidata QIDs: rigour.\n"
        "\n"
    )


def serialize_countries(graph: Graph) -> str:
    """The graph as Turtle, with the header; the same text for the same triples."""
    # rdflib's Turtle serializer orders subjects by how often they are referenced, then by IRI
    # (so countries come first, then regions), sorts predicates and objects, and writes the
    # prefixes it uses in sorted order: the text is a function of the triples alone, whatever
    # the insertion order or PYTHONHASHSEED (tests/test_reference.py checks both).
    body = bind_prefixes(graph).serialize(format="turtle")
    return countries_header() + body.rstrip("\n") + "\n"


def write_countries(path: Path) -> int:
    """Write the countries reference file to PATH as Turtle; return the number of triples."""
    graph = build_countries_graph()
    text = serialize_countries(graph)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return len(graph)


if __name__ == "__main__":  # python -m kg.reference [PATH]; the CLI's `kg reference` is the usual way
    import sys

    from kg import settings

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(settings.get("DATA")) / "reference" / "countries.ttl"
    try:
        print(f"{write_countries(target)} triples written to {target}")
    except KGError as error:
        sys.exit(f"error: {error}")
